"""leukoct: the executable companion of Ryu et al., leukoaraiosis segmentation
on noncontrast head CT trained on CT-MRI pairs without human annotation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("leukoct")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"
