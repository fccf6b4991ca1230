#include "common/base/service_notify.h"

#include <string>

#ifdef CONFAB_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace confab {

#ifdef CONFAB_HAVE_SYSTEMD
void NotifyReady(std::string_view status) {
  // unset_environment = 0: a child the daemon starts is not our concern, and
  // the tracker and node start none.
  (void)sd_notify(0, ("READY=1\nSTATUS=" + std::string(status)).c_str());
}
void NotifyStopping() {
  (void)sd_notify(0, "STOPPING=1");
}
bool CanNotifyServiceManager() {
  return true;
}
#else
void NotifyReady(std::string_view) {}
void NotifyStopping() {}
bool CanNotifyServiceManager() {
  return false;
}
#endif

}  // namespace confab
