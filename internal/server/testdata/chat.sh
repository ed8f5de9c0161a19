#!/bin/sh
# A tiny JSON chat backend. Client messages arrive with "_from" last.
# {"private":...} is answered to its sender alone, {"both":[A,B]} to two
# clients, {"meta":...} sets the room's metadata; anything else is
# broadcast as it came.
while read -r line; do
	from=${line##*\"_from\":}
	from=${from%\}}
	case "$line" in
	*'"private"'*) echo "{\"_to\":$from,\"secret\":\"for $from\"}" ;;
	*'"both"'*) echo "{\"_to\":${line#*\"both\":},\"msg\":\"for two\"}" | sed 's/,"_from":[0-9]*}//' ;;
	*'"meta"'*) echo '{"_meta":true,"players":2}' ;;
	*) echo "$line" ;;
	esac
done
