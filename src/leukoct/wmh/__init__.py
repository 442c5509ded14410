"""leukoct's own FLAIR WMH segmentation: the study's upstream step (seed 002).

The paper's labels start from WMH masks that "previously validated software"
drew on FLAIR (Kim, Ryu et al., AJNR 2024 -- seed 002).  This package is that
method, so that a site holding CT-FLAIR pairs without WMH masks can run the
study, and so that the FLAIR segmentation error is measured, not simulated:

``preprocess``
    the seed's slice preprocessing (256 x 256 B-spline, uint8 scaling,
    histogram-peak equalisation, brain mask, z-score);
``networks``
    the 2-D UNet and SE-UNet, from MONAI's blocks;
``uncertainty``
    the deep ensemble's voxel KL divergence and the patient's uncertainty index;
``subregions``
    periventricular vs deep WMH by in-plane distance from the ventricles;
``ensemble``
    training of the members and soft-voting prediction;
``step``
    the study step's I/O: which subjects train, each member's checkpoint,
    each subject's mask, probability and uncertainty;
``evaluation``
    the chapter's tables: DSC / Hausdorff / volume agreement per model, the
    paired architecture test, the uncertainty strata, the subregion DSCs,
    lesion-wise scores.
"""
