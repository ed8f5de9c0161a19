#!/bin/sh
# Prints its PID, then echoes every line it reads.
echo "pid $$"
exec cat
