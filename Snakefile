# leukoct study workflow: the study's table of contents.
#
# Each study step is a notebook run by papermill with parameters from the
# profile; each rule declares what it reads and writes, so Snakemake re-runs
# only the steps whose inputs, parameters or notebook changed.
#
#   snakemake --cores 2                          # default profile: demo
#   snakemake --cores 2 --config profile=ci      # any profile name or YAML path
#   snakemake -n --config profile=real           # dry run: what would run
#
# `make book` wraps the first command.  All paths are absolute (the project
# root, or the profile's output folders), so `--directory` may point anywhere.
# Where each file lives: leukoct.run.Run; what each step reads and writes:
# leukoct.steps.STEPS; how a setting travels: docs/backbone.md.


include: "workflow/rules/common.smk"    # the profile, the run's files, papermill


localrules: all, book, cascade, rulegraph


rule all:
    input:
        RUN.book_index,
        ARM_OUTPUTS,


include: "workflow/rules/data.smk"          # the twin builds the study (00, 01)
include: "workflow/rules/flair.smk"         # FLAIR WMH segmentation: ensemble, masks (03)
include: "workflow/rules/registration.smk"  # who is registered; FLAIR -> CT (02, 04)
include: "workflow/rules/segmentation.smk"  # nnU-Net: export, plan, train, predict (05, 06)
include: "workflow/rules/arms.smk"          # design arms: the study with one choice changed
include: "workflow/rules/chapters.smk"      # one notebook rule per study step (00-10)
include: "workflow/rules/book.smk"          # the rule graph and the Jupyter Book
