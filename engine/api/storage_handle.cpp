#include "hpo/storage.h"

#include "storage/memory_storage.h"
#include "storage/sqlite_storage.h"

namespace hpo {

void StorageDeleter::operator()(Storage* storage) const { delete storage; }

StoragePtr open_storage(const std::filesystem::path& file) {
  return StoragePtr(new SqliteStorage(file));
}

StoragePtr open_memory_storage() { return StoragePtr(new MemoryStorage()); }

}  // namespace hpo
