#!/bin/sh
# Answers every line with its own PID, so clients can tell which process
# they share.
while read -r line; do
	echo "$$ $line"
done
