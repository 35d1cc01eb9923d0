# Project-wide warning flags, applied to our own targets through rightsize_warnings.
add_library(rightsize_warnings INTERFACE)
target_compile_options(rightsize_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wcast-align -Wimplicit-fallthrough)
if(RIGHTSIZE_WERROR)
  target_compile_options(rightsize_warnings INTERFACE -Werror)
endif()
