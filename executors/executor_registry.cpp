#include "executors/executor_registry.h"

#include "executors/kubernetes/kubernetes_executor.h"
#include "executors/subprocess_executor.h"
#include "executors/threads_executor.h"

namespace hpo {

const std::vector<ExecutorRegistration>& executor_registry() {
  static const std::vector<ExecutorRegistration> kRegistry = {
      subprocess_executor_registration(),
      threads_executor_registration(),
      kubernetes_executor_registration(),
  };
  return kRegistry;
}

const ExecutorRegistration* find_executor(const std::string& kind) {
  return find_registration(executor_registry(), kind);
}

}  // namespace hpo
