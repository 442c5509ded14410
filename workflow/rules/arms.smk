# Design arms (leukoct.arms; issue 22): each arm of the profile's arms: section
# re-runs the producing steps its knobs reach -- registration, nnU-Net, the
# volumes and overlaps -- with its own profile and under <root>/arms/<arm>/,
# through the same rule-writing functions as the study (registration.smk,
# segmentation.smk); what it does not change it reads from the study.
# The arms' profiles: ARMS (common.smk).

for arm_name, arm_profile in ARMS.items():
    arm_steps = arms.rerun_steps(PROFILE, arm_name)
    if "registration" in arm_steps:
        registration_rules(f"arm_{arm_name}_", arm_profile, Run(arm_profile))
    segmentation_rules(f"arm_{arm_name}_", arm_profile, Run(arm_profile), arm_steps)
