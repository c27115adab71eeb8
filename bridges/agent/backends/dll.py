"""Generic DLL backend: placeholder replaced below by the full ctypes wrapper."""
