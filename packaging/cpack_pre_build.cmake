# Run by cpack after it staged each package's files and before it builds the .deb
# (CPACK_PRE_BUILD_SCRIPTS), to do what debhelper would:
#  - man pages and changelogs gzipped (gzip -9n: no name, no time, so the same sources give the
#    same package);
#  - the programs and plugins, already stripped (CPACK_STRIP_FILES), lose the compiler's .comment
#    and .note sections too, as dh_strip does.
file(GLOB_RECURSE docs LIST_DIRECTORIES false
     "${CPACK_TEMPORARY_DIRECTORY}/*/usr/share/man/man?/*.?"
     "${CPACK_TEMPORARY_DIRECTORY}/*/usr/share/doc/*/changelog")
foreach(f ${docs})
  execute_process(COMMAND gzip -9nf ${f} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${f} failed")
  endif()
endforeach()
file(GLOB_RECURSE elves LIST_DIRECTORIES false
     "${CPACK_TEMPORARY_DIRECTORY}/*/usr/bin/*" "${CPACK_TEMPORARY_DIRECTORY}/*/usr/lib/*.so")
foreach(f ${elves})
  execute_process(COMMAND strip --remove-section=.comment --remove-section=.note ${f}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "strip ${f} failed")
  endif()
endforeach()
