#!/bin/sh
# Starts a child and a grandchild, prints all their PIDs, then waits on
# stdin so that only the server can end it.
sleep 1000 &
sh -c 'sleep 1000 & echo "grandchild $!"; wait' &
echo "pids $$ $!"
exec cat
