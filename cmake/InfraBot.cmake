# Shared build settings for infra-bot targets.

set(INFRA_BOT_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
                       -Wno-sign-conversion)
# g++ 12 at -O2/-O3 reports -Wrestrict inside libstdc++'s std::string operator+
# (GCC bug 105329) and -Wmaybe-uninitialized inside std::variant/std::optional
# of strings (GCC bugs 80635, 105562) for ordinary code: false positives we
# cannot fix from our side, and with -Werror they break Release builds at random.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND INFRA_BOT_WARNINGS -Wno-restrict -Wno-maybe-uninitialized)
endif()

# infra_set_warnings(<target>): the project's warning set (and -Werror when asked).
function(infra_set_warnings target)
  target_compile_options(${target} PRIVATE ${INFRA_BOT_WARNINGS})
  if(INFRA_BOT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# infra_add_library(<layer> SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ...)
# One layer = one folder = one target = one namespace; src/ headers stay private.
function(infra_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  add_library(infrabot::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC include PRIVATE src)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  infra_set_warnings(${name})

  # Header check: each public header compiles on its own, and none leaks a
  # transport type (websocketpp, Asio, curl) into the public interface.
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/include/*.hpp")
  set(check_sources "")
  foreach(header IN LISTS headers)
    file(READ "${header}" content)
    if(content MATCHES "#include[ \t]*<(websocketpp|boost/asio|asio|curl)[/.]")
      message(FATAL_ERROR "${header}: public headers must not include websocketpp, Asio or curl")
    endif()
    file(RELATIVE_PATH rel "${CMAKE_CURRENT_SOURCE_DIR}/include" "${header}")
    string(MAKE_C_IDENTIFIER "${rel}" id)
    set(check "${CMAKE_CURRENT_BINARY_DIR}/header_check/${id}.cpp")
    file(CONFIGURE OUTPUT "${check}" CONTENT "#include <${rel}>\n")
    list(APPEND check_sources "${check}")
  endforeach()
  if(check_sources)
    add_library(${name}_header_check OBJECT ${check_sources})
    target_link_libraries(${name}_header_check PRIVATE ${name})
    infra_set_warnings(${name}_header_check)
  endif()
endfunction()
