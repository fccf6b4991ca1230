# cmake -D CASES=<confab_skip_mechanism_cases> -P skip_mechanism_check.cmake
#
# Runs each case of skip_mechanism_test.cc as ctest runs a unit test case
# (its name, -w NoAssertions) and checks the exit code ctest will see:
# 0 passed, 77 skipped (SKIP_RETURN_CODE), anything else failed.

function(expect name want_code want_output)
  execute_process(COMMAND ${CASES} "${name}" -w NoAssertions
                  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(want_code STREQUAL "failure")
    if(code EQUAL 0 OR code EQUAL 77)
      message(SEND_ERROR "'${name}' exited ${code}; want a failure (not 0, not 77)\n${out}")
    endif()
  elseif(NOT code EQUAL want_code)
    message(SEND_ERROR "'${name}' exited ${code}; want ${want_code}\n${out}")
  endif()
  if(want_output AND NOT out MATCHES "${want_output}")
    message(SEND_ERROR "'${name}' printed no '${want_output}'\n${out}")
  endif()
endfunction()

expect("A case that checks something passes" 0 "")
expect("A case that checks nothing fails" failure "No assertions in test case")
expect("A case that cannot run here is skipped" 77
       "CONFAB-SKIPPED: forced by the check of the skip mechanism\n")
expect("A failure before a skip still fails" failure "")
expect("77 failed checks do not read as a skip" failure "")
