"""Real data in from the scanner: DICOM series and a registry spreadsheet to a manifest.

``leukoct import dicom SRC OUT`` (:func:`~leukoct.importing.dicom.import_dicom`)
finds, classifies and converts the series under ``SRC`` into pseudonymised
NIfTI images and ``OUT/manifest.csv``; ``leukoct import registry``
(:func:`~leukoct.importing.registry.import_registry`) joins the registry's
clinical fields onto it through the pseudonym map.  Modules:

- :mod:`~leukoct.importing.discover`: series finding and classification;
- :mod:`~leukoct.importing.convert`: pixels to NIfTI (SimpleITK), masks;
- :mod:`~leukoct.importing.deidentify`: what may leave, and the leak check;
- :mod:`~leukoct.importing.pseudonyms`: pseudonyms and their map;
- :mod:`~leukoct.importing.registry`: the registry join.
"""
