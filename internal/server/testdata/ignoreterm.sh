#!/bin/sh
# Ignores SIGTERM and stdin's end, so only SIGKILL ends it.
trap '' TERM
echo "pid $$"
while :; do sleep 1; done
