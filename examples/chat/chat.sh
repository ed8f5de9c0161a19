#!/bin/sh
# The backend of the chat example, for scalesocket --json. It reads one JSON
# object per line and every line it prints goes to the room, or to the clients
# named in "_to".
#
# In:
#   {"t":"Join","_from":3,"nick":"Ann"}    client 3 joined (--joinmsg)
#   {"t":"Leave","_from":3,"nick":"Ann"}   client 3 left (--leavemsg)
#   {"text":"hi","_from":3}                client 3 says hi to the room
#   {"to":5,"text":"psst","_from":3}       client 3 says psst to client 5 alone
#                                          ("to" first; an invalid one is dropped)
# Out:
#   {"t":"Hello","id":3,...,"_to":3}       to the newcomer: its ID and who is here
#   {"t":"Join",...} {"t":"Leave",...}     to everyone
#   {"t":"Msg",...,"_cache":true}          to everyone, and kept for late joiners
#   {"t":"Msg",...,"_to":[3,5]}            to sender and recipient only, never kept
#
# The server writes a client's own message with "_from" as its last member, so
# a line with "_from" in the middle comes from the --joinmsg or --leavemsg
# template: no client can forge it. Nicknames come percent-encoded
# (#QUERY_NICK), so they hold no quotes or spaces; the page decodes them.

set -f # the nicks below are split into words, never globbed

members='' # who is here, as " 3:Ann 5:Bob"

nick_of() {
	for m in $members; do
		if [ "${m%%:*}" = "$1" ]; then
			printf '%s' "${m#*:}"
			return
		fi
	done
}

members_json() {
	sep=''
	for m in $members; do
		printf '%s{"id":%s,"nick":"%s"}' "$sep" "${m%%:*}" "${m#*:}"
		sep=,
	done
}

members_without() {
	for m in $members; do
		[ "${m%%:*}" = "$1" ] || printf ' %s' "$m"
	done
}

# printf, never echo: some shells' echo turns the \n of a JSON string into a
# real newline.
while IFS= read -r line; do
	case $line in
	'{"t":"Join","_from":'* | '{"t":"Leave","_from":'*)
		rest=${line#*'"_from":'}
		id=${rest%%[!0-9]*}
		case $rest in
		"$id"',"nick":"'*'"}') ;;
		*) continue ;; # a client's {"t":"Join"}: "_from" came last
		esac
		nick=${rest#"$id"',"nick":"'}
		nick=${nick%'"}'}
		[ -n "$nick" ] || nick="guest$id"
		case $line in
		'{"t":"Join"'*)
			members="$members $id:$nick"
			printf '{"t":"Hello","id":%s,"nick":"%s","members":[%s],"_to":%s}\n' \
				"$id" "$nick" "$(members_json)" "$id"
			printf '{"t":"Join","id":%s,"nick":"%s"}\n' "$id" "$nick"
			;;
		*)
			members=$(members_without "$id")
			printf '{"t":"Leave","id":%s,"nick":"%s"}\n' "$id" "$nick"
			;;
		esac
		;;
	'{"_from":'*) ;; # an empty object says nothing
	*'"_from":'[0-9]*'}')
		id=${line##*'"_from":'}
		id=${id%'}'}
		msg=${line%,'"_from":'*}'}' # the client's object as it sent it
		nick=$(nick_of "$id")
		[ -n "$nick" ] || continue
		to=''
		case $msg in
		'{"to":'*) # private, if "to" comes first and is a client ID
			to=${msg#'{"to":'}
			to=${to%%[!0-9]*}
			case $to:${msg#'{"to":'"$to"} in
			[1-9]*:,* | [1-9]*:'}') ;;
			*) continue ;; # better unsaid than said to everyone
			esac
			;;
		esac
		if [ -n "$to" ]; then
			printf '{"t":"Msg","id":%s,"nick":"%s","to":%s,"msg":%s,"_to":[%s,%s]}\n' \
				"$id" "$nick" "$to" "$msg" "$id" "$to"
		else
			printf '{"t":"Msg","id":%s,"nick":"%s","msg":%s,"_cache":true}\n' \
				"$id" "$nick" "$msg"
		fi
		;;
	esac
done
