"""geoagri: geospatial planning toolkit for agricultural planners.

Joins commune boundaries with production-linkage zones, high-tech rice
models, irrigation works and power lines; computes area by zone and progress
against plan targets; renders maps and exports layers for planners.

Examples
--------
>>> import geoagri
>>> isinstance(geoagri.__version__, str)
True
"""

__version__ = "0.1.0"
