// Where a study's results live, as the C++ API sees it: a handle on a results database. The
// database is the same one `hpo run` writes and `hpo status`, `hpo trials` and `hpo best` read
// (a SQLite file), or one in memory for tests and quick experiments.
//
//   hpo::StoragePtr storage = hpo::open_storage("results.db");
//   hpo::Study study = hpo::Study::create_or_load(*storage, config);
//
// The storage itself is opaque here. One storage may serve several Study objects, threads and
// processes (a SQLite file coordinates through its locks). It must outlive the Study objects
// that use it.
#pragma once

#include <filesystem>
#include <memory>

namespace hpo {

class Storage;  // hpo's storage interface; opaque to embedders

struct StorageDeleter {
  void operator()(Storage* storage) const;
};
using StoragePtr = std::unique_ptr<Storage, StorageDeleter>;

// Opens the SQLite results database at `file`, creating it (not its directory) when missing,
// and migrating one written by an older hpo. Throws StorageError (hpo/errors.h) when the file
// cannot be opened, is not an hpo database, or was written by a newer hpo.
StoragePtr open_storage(const std::filesystem::path& file);

// A database in this process's memory; nothing survives it.
StoragePtr open_memory_storage();

}  // namespace hpo
