# cmake -DOBJDUMP=wasm-objdump -DWASM=kernel.wasm -P check_no_imports.cmake
# Fails if the module has an import section: the compute kernels must run
# with no host at all, in myriad and in node alike.
execute_process(COMMAND ${OBJDUMP} -h ${WASM}
                OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} -h ${WASM} failed")
endif()
if(headers MATCHES "(^|\n) *Import start=")
  file(REMOVE ${WASM}) # so the next build retries instead of keeping it
  message(FATAL_ERROR "${WASM} imports something; compute kernels must not:\n${headers}")
endif()
