# Compiler flags shared by every confab target.

if(CONFAB_SANITIZE)
  # Applied globally so that every object, test and tool is instrumented alike.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(CONFAB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CONFAB_FUZZ needs clang (configure with CXX=clang++)")
  endif()
  # Coverage for libFuzzer in every library; the fuzz targets add -fsanitize=fuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Warnings for our own code (not for generated protobuf sources).
function(confab_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                         -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
                         -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 at -O2 reports impossible sizes for std::string concatenation
    # (GCC bug 105329, a known false positive in libstdc++'s inlined code).
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(CONFAB_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# A static library of ours: warnings on, includes rooted at the repository.
function(confab_library target)
  add_library(${target} STATIC ${ARGN})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  confab_warnings(${target})
endfunction()
