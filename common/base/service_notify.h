// Readiness and shutdown notices to the service manager (sd_notify(3)), for
// systemd units with Type=notify. Without NOTIFY_SOCKET in the environment
// (a daemon started by hand or by a test) each call does nothing; in a build
// without libsystemd (CONFAB_HAVE_SYSTEMD unset) likewise.
#pragma once

#include <string_view>

namespace confab {

// "READY=1" plus a STATUS= line, once the daemon listens and serves.
void NotifyReady(std::string_view status);
// "STOPPING=1" as the daemon begins to shut down.
void NotifyStopping();
// Whether this build can notify at all (libsystemd linked in).
bool CanNotifyServiceManager();

}  // namespace confab
