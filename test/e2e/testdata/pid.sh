#!/bin/sh
# Answers every line with a JSON object that holds this process's PID and
# the line (a JSON object under --json), so that a test can tell which
# process serves a room.
while IFS= read -r line; do
	printf '{"pid":%s,"in":%s}\n' "$$" "$line"
done
