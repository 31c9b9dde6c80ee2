/*
 * privdrop.h - toud started as root gives up root once its sockets are
 * bound ([daemon] user =): it becomes that user, with that user's groups
 * and no capability.  None is kept: the UDP and API sockets are bound
 * before, and [daemon] privileged_ports is toud's own rule about tou's TCP
 * ports (checked against the API client's uid), not the kernel's
 * CAP_NET_BIND_SERVICE.
 */
#ifndef TOUD_PRIVDROP_H
#define TOUD_PRIVDROP_H

#include <stddef.h>

/*
 * Become `user` (a name from the password database): initgroups(3),
 * setgid(2), setuid(2), no new privileges, then check that no capability
 * is left and that root cannot be regained.  `socket_path`, when not NULL,
 * is the API socket toud bound: it is given to the user (its group and
 * mode stay), so that ownership shows who serves it.  Already running as
 * that user: nothing to do.  Returns 0, or -1 with the reason in err.
 */
int privdrop(const char *user, const char *socket_path, char *err, size_t errlen);

#endif
