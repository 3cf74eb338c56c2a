# Writes OUT: a header defining MYR_BUILD_ID, a hash of every source file
# of the engine (listed, ;-separated, in the file LIST). Compiled code and its cache depend on
# exactly how these files generate and run code, so the code cache is
# keyed by it: a rebuilt myriad never runs code an older build made.
file(READ ${LIST} SOURCES)
set(all "")
foreach(f ${SOURCES})
  file(SHA256 ${f} h)
  string(APPEND all "${h}")
endforeach()
string(SHA256 id "${all}")
string(SUBSTRING "${id}" 0 32 id)
set(text "#define MYR_BUILD_ID \"${id}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
