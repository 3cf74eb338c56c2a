# Compiles MODULE with `myriad compile`, writing its IR (MYRIAD_JIT_DUMP),
# and checks that the compiler made exactly EXPECT fast copies of loops
# (src/jit_emit.c, "Fast loops"): a change that silently stops giving
# loops their fast copy, or gives one to a loop that must not have it,
# fails here even when every result stays right.
#
#   cmake -DMYRIAD=path -DMODULE=m.wasm -DEXPECT=N -DWORK=dir -P check_fast_loops.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env MYRIAD_JIT_DUMP=${WORK}/ir
          ${MYRIAD} compile --no-cache ${MODULE} -o ${WORK}/code.myrc
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "myriad compile failed (${rc}): ${out}${err}")
endif()
file(GLOB irs ${WORK}/ir.*.ll)
list(FILTER irs EXCLUDE REGEX "\\.opt\\.ll$")
set(count 0)
foreach(ir IN LISTS irs)
  file(STRINGS ${ir} lines REGEX "^fast\\.pre[0-9]*:")
  list(LENGTH lines n)
  math(EXPR count "${count} + ${n}")
endforeach()
message("${count} fast loop copies in ${MODULE}")
if(NOT count EQUAL EXPECT)
  message(FATAL_ERROR "expected ${EXPECT} fast loop copies, found ${count}")
endif()
