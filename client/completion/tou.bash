# bash completion for tou(1), the tou (TCP over UDP) client.
# Installed as share/bash-completion/completions/tou; needs no other file.
# Connection ids (status, abort) and counter names (stats) are asked of the
# daemon named by -s/--socket or $TOU_SOCKET.

_tou_commands="connect listen forward serve status stats info abort help"

# The options of each command (and of none: the global ones).
_tou_options()
{
	local common="-s --socket --quiet -v --verbose -h --help"
	local stream="-p --progress -t --timeout -w --idle-timeout -q -N --shutdown --nodelay --keepalive"
	case $1 in
	connect) echo "$common $stream -4 -6 --ao" ;;
	listen) echo "$common $stream -k --keep-open -b --backlog --ao --allow" ;;
	forward) echo "$common -t --timeout --nodelay --keepalive" ;;
	serve) echo "$common" ;;
	status) echo "$common -l --listening -j --json" ;;
	stats) echo "$common -d --delta -z --zeros -j --json" ;;
	info) echo "$common -j --json" ;;
	abort | help) echo "$common" ;;
	*) echo "$common -V --version" ;;
	esac
}

_tou()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmd="" i w sock=() nargs=0 args=()
	# the command word and the socket option, skipping option values
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-s | --socket)
			sock=(-s "${COMP_WORDS[i+1]}")
			((i++))
			;;
		--socket=*) sock=(-s "${w#--socket=}") ;;
		-t | --timeout | -w | --idle-timeout | -b | --backlog | --ao | --allow) ((i++)) ;;
		-q)
			[[ ${COMP_WORDS[i+1]} == [0-9]* ]] && ((i++))
			;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=$w
			else
				args+=("$w")
				((nargs++))
			fi
			;;
		esac
	done
	case $prev in
	-s | --socket)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-t | --timeout | -w | --idle-timeout | -b | --backlog | --allow)
		COMPREPLY=() # a number, a prefix
		return
		;;
	--ao)
		[[ $cmd == listen ]] && COMPREPLY=($(compgen -W "required optional" -- "$cur"))
		[[ $cmd == connect ]] && COMPREPLY=($(compgen -W "required optional" -- "$cur")) # or a key name
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_tou_options "$cmd")" -- "$cur"))
		return
	fi
	case $cmd in
	"")
		COMPREPLY=($(compgen -W "$_tou_commands" -- "$cur"))
		;;
	help)
		((nargs == 0)) && COMPREPLY=($(compgen -W "${_tou_commands% help}" -- "$cur"))
		;;
	connect)
		((nargs == 0)) && COMPREPLY=($(compgen -A hostname -- "$cur"))
		;;
	forward)
		((nargs == 1)) && COMPREPLY=($(compgen -A hostname -- "$cur"))
		;;
	serve)
		((nargs == 1)) && [[ $cur == u* ]] && COMPREPLY=($(compgen -W "unix:/" -- "$cur"))
		;;
	status)
		case $prev in
		state)
			COMPREPLY=($(compgen -W "established syn-sent syn-received fin-wait-1
				fin-wait-2 close-wait closing last-ack time-wait closed listening
				connected" -- "$cur"))
			;;
		sport | dport | = | ==) ;;
		*)
			local ids=""
			((nargs == 0)) && ids=$(tou "${sock[@]}" status 2>/dev/null | awk 'NR > 1 && /^[0-9]/ { print $1 }')
			COMPREPLY=($(compgen -W "state sport dport $ids" -- "$cur"))
			;;
		esac
		;;
	abort)
		((nargs == 0)) && COMPREPLY=($(compgen -W \
			"$(tou "${sock[@]}" status 2>/dev/null | awk 'NR > 1 && $2 != "CLOSED" && /^[0-9]/ { print $1 }')" \
			-- "$cur"))
		;;
	stats)
		COMPREPLY=($(compgen -W "$(tou "${sock[@]}" stats -z 2>/dev/null | awk '{ print $1 }')" -- "$cur"))
		;;
	esac
}
complete -F _tou tou
