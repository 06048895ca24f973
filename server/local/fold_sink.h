// The EventSink behind LocalEngine::Invoke: folds a run's events into one Responses object
// (the first response's id and model, every item of every round in order, usage summed,
// status "completed") and hands it, or the run's failure, to `done` once.
#ifndef AGENTGATEWAY_SERVER_LOCAL_FOLD_SINK_H_
#define AGENTGATEWAY_SERVER_LOCAL_FOLD_SINK_H_

#include <memory>

#include "server/engine.h"

namespace agentgateway::local {

std::shared_ptr<EventSink> MakeFoldSink(Engine::InvokeDone done);

}  // namespace agentgateway::local

#endif  // AGENTGATEWAY_SERVER_LOCAL_FOLD_SINK_H_
