/*
 * privdrop.c - give up root after binding ([daemon] user =, privdrop.h).
 */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* Any capability left in the effective or permitted set?  (capget(2):
 * libcap is not needed for one question.)  1 yes, 0 no, -1 unknown. */
static int caps_left(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];
	memset(c, 0, sizeof c);
	if (syscall(SYS_capget, &h, c) != 0)
		return -1;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (c[i].effective || c[i].permitted)
			return 1;
	return 0;
}

int privdrop(const char *user, const char *socket_path, char *err, size_t errlen)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "no user \"%s\"%s%s", user, errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (getuid() == uid && geteuid() == uid && uid != 0)
		return 0; /* started as that user (e.g. by systemd's User=) */
	if (geteuid() != 0) {
		snprintf(err, errlen, "toud runs as uid %u, not root: it cannot become \"%s\" (uid %u)",
			 (unsigned)geteuid(), user, (unsigned)uid);
		return -1;
	}
	if (uid == 0) {
		snprintf(err, errlen, "user \"%s\" is root: nothing would be dropped", user);
		return -1;
	}
	if (socket_path && chown(socket_path, uid, (gid_t)-1) != 0)
		log_warn("api: chown %s to %s: %s", socket_path, user, strerror(errno));
	if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		snprintf(err, errlen, "cannot become \"%s\" (uid %u gid %u): %s", user, (unsigned)uid,
			 (unsigned)gid, strerror(errno));
		return -1;
	}
	/* setuid(2) from root with all uids changed clears the permitted and
	 * effective capabilities (capabilities(7), PR_SET_KEEPCAPS unset);
	 * check it, and that root cannot come back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		log_warn("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	int left = caps_left();
	if (left != 0 || setuid(0) == 0 || seteuid(0) == 0) {
		snprintf(err, errlen, "privileges remain after becoming \"%s\" (%s)", user,
			 left < 0 ? "capget failed" : left ? "capabilities left" : "root regained");
		return -1;
	}
	gid_t groups[64];
	int ng = getgroups(64, groups);
	char list[256] = "";
	size_t o = 0;
	for (int i = 0; i < ng && o < sizeof list - 12; i++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%s%u", i ? "," : "", (unsigned)groups[i]);
	log_notice("running as user %s (uid %u, gid %u, groups %s), no capabilities", user, (unsigned)uid,
		   (unsigned)gid, ng > 0 ? list : "none");
	return 0;
}
