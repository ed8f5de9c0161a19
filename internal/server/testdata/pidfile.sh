#!/bin/sh
# Records its PID as a file in directory $1, then echoes every line, so a
# test can count the processes a room ever had.
echo $$ > "$1/$$"
exec cat
