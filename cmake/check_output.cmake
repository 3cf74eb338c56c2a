# Runs COMMAND with ARGS (separated by |) and checks that it exits with 0 and
# that its standard output holds every line of the file EXPECT, in order.
# A line is looked for literally, unless it starts with "~ ": then the
# rest is a regular expression.
#
#   cmake -DCOMMAND=prog "-DARGS=a|b" -DEXPECT=prog.expect -P check_output.cmake
string(REPLACE "|" ";" ARGS "${ARGS}")
execute_process(COMMAND ${COMMAND} ${ARGS}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${COMMAND} exited with ${rc}")
endif()
file(STRINGS ${EXPECT} expected)
set(rest "${out}")
foreach(line IN LISTS expected)
  if(line MATCHES "^~ (.*)$")
    string(REGEX MATCH "${CMAKE_MATCH_1}" found "${rest}")
    if(found STREQUAL "")
      set(at -1)
    else()
      string(FIND "${rest}" "${found}" at)
    endif()
  else()
    set(found "${line}")
    string(FIND "${rest}" "${line}" at)
  endif()
  if(at EQUAL -1)
    message(FATAL_ERROR "expected, in this order: \"${line}\"")
  endif()
  string(LENGTH "${found}" n)
  math(EXPR at "${at} + ${n}")
  string(SUBSTRING "${rest}" ${at} -1 rest)
endforeach()
