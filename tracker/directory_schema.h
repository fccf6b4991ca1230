// The directory's SQL schema, one script per version (see
// common/store/migration.h). Append only: never edit a released script.
#pragma once

#include <span>
#include <string_view>

namespace confab::tracker {

std::span<const std::string_view> DirectorySchema();

}  // namespace confab::tracker
