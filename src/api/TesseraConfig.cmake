# find_package(Tessera) gives the imported target Tessera::tessera (libtessera.so and its headers).
# The library carries its dependencies, so nothing else needs to be found.
include("${CMAKE_CURRENT_LIST_DIR}/TesseraTargets.cmake")
