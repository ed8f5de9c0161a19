#!/bin/sh
# Says goodbye and exits with the status given as ?status=N, once it reads
# a line.
read -r line
echo "last words: $line"
exit "${QUERY_STRING#status=}"
