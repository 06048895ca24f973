// Makes the hand-off of a gRPC batch visible to ThreadSanitizer: the thread that starts a batch
// (grpc_call_start_batch: StartRead, StartWrite, Finish, ...) happens before the thread that runs
// its completion (the callback API's tag functor, or the tag returned by a completion queue's
// next/pluck for the sync API). Built and LD_PRELOADed with absl_sync_annotations.cc by
// scripts/test-tsan.sh only.
//
// Why: Debian's libgrpc is built without -fsanitize=thread, and it moves a batch from the
// starting thread to the completing one through its own lock-free queues and atomics, which TSan
// cannot see. Without this, every message buffer and every grpcpp CallOpSet field that one
// thread fills before StartRead/StartWrite and another reads in the completion looks like a race
// (in grpcpp's inline code and in the generated protobuf code compiled into our programs). With
// it, TSan still sees a real misuse in our code, such as touching a message between StartWrite
// and OnWriteDone, because that access is not ordered by the batch.
//
// How: grpc_call_start_batch releases on the tag. For the callback API the tag is a
// grpc_completion_queue_functor (grpcpp's CallbackWithSuccessTag); its functor_run is replaced
// by a trampoline that acquires on the tag and then calls the original. A tag is taken for a
// functor when its first word points into executable code (a CallOpSet tag of the sync API
// starts with a vtable pointer, which does not); each distinct original functor_run gets its own
// trampoline, so no table per tag is needed. Completion-queue tags are acquired when next/pluck
// return them. Message bytes are handled apart (ForEachSlice below).
#include <dlfcn.h>
#include <link.h>
#include <sanitizer/tsan_interface.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <grpcpp/support/server_callback.h>

namespace {

using RunFn = void (*)(grpc_completion_queue_functor*, int);

template <typename Fn>
Fn RealFn(const char* name) {
  void* fn = dlsym(RTLD_NEXT, name);
  if (fn == nullptr) {
    std::fprintf(stderr, "grpc_batch_annotations: %s not found: %s\n", name, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

// True if `p` is in a loaded object's executable segment. dl_iterate_phdr takes the loader's
// lock; a batch start is not a hot path under TSan.
bool IsCode(uintptr_t p) {
  struct Query {
    uintptr_t p;
    bool found;
  } q{p, false};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* q = static_cast<Query*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
          const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          if (q->p >= start && q->p < start + ph.p_memsz) {
            q->found = true;
            return 1;
          }
        }
        return 0;
      },
      &q);
  return q.found;
}

// One trampoline per distinct original functor_run (grpcpp has one per program or library that
// instantiates CallbackWithSuccessTag, plus a few internal functors).
constexpr int kMaxRunFns = 16;
std::atomic<RunFn> originals[kMaxRunFns];

template <int I>
void Trampoline(grpc_completion_queue_functor* functor, int ok) {
  __tsan_acquire(functor);
  originals[I].load(std::memory_order_acquire)(functor, ok);
}

template <int... I>
constexpr auto MakeTrampolines(std::integer_sequence<int, I...>) {
  return std::array<RunFn, sizeof...(I)>{&Trampoline<I>...};
}
constexpr auto kTrampolines = MakeTrampolines(std::make_integer_sequence<int, kMaxRunFns>());

bool IsTrampoline(RunFn fn) {
  for (RunFn t : kTrampolines) {
    if (t == fn) return true;
  }
  return false;
}

// The trampoline for `original`, registering it on first use. Lock-free on purpose: a lock
// visible to TSan here would order every batch against every other and hide real races.
RunFn TrampolineFor(RunFn original) {
  for (int i = 0; i < kMaxRunFns; ++i) {
    RunFn seen = originals[i].load(std::memory_order_acquire);
    if (seen == original) return kTrampolines[i];
    if (seen == nullptr &&
        (originals[i].compare_exchange_strong(seen, original, std::memory_order_acq_rel) ||
         seen == original)) {
      return kTrampolines[i];
    }
  }
  return nullptr;  // table full: leave this functor alone
}

void HookFunctor(void* tag) {
  if (reinterpret_cast<uintptr_t>(tag) < 4096) return;  // not an object
  auto* functor = static_cast<grpc_completion_queue_functor*>(tag);
  const RunFn run = functor->functor_run;
  if (run == nullptr || IsTrampoline(run)) return;
  if (!IsCode(reinterpret_cast<uintptr_t>(run))) return;
  if (RunFn trampoline = TrampolineFor(run)) functor->functor_run = trampoline;
}

// A message's bytes: the serializing thread writes them before the send batch starts; the
// thread that parses them (with the in-process transport the same slices reach the peer call)
// starts reading after grpc_byte_buffer_reader_init. Each refcounted slice's data is released at
// the send and acquired at the reader. (Slices gRPC copies are written by libgrpc, invisible to
// TSan, so they need nothing.)
template <typename F>
void ForEachSlice(grpc_byte_buffer* buffer, F f) {
  if (buffer == nullptr || buffer->type != GRPC_BB_RAW) return;
  const grpc_slice_buffer& slices = buffer->data.raw.slice_buffer;
  for (size_t i = 0; i < slices.count; ++i) {
    if (slices.slices[i].refcount != nullptr) f(GRPC_SLICE_START_PTR(slices.slices[i]));
  }
}

void AcquireCompleted(const grpc_event& event) {
  if (event.type == GRPC_OP_COMPLETE && event.tag != nullptr) __tsan_acquire(event.tag);
}

}  // namespace

extern "C" {

grpc_call_error grpc_call_start_batch(grpc_call* call, const grpc_op* ops, size_t nops, void* tag,
                                      void* reserved) {
  static auto real = RealFn<grpc_call_error (*)(grpc_call*, const grpc_op*, size_t, void*, void*)>(
      "grpc_call_start_batch");
  for (size_t i = 0; ops != nullptr && i < nops; ++i) {
    if (ops[i].op == GRPC_OP_SEND_MESSAGE) {
      ForEachSlice(ops[i].data.send_message.send_message, [](void* p) { __tsan_release(p); });
    }
  }
  if (tag != nullptr) {
    HookFunctor(tag);
    __tsan_release(tag);
  }
  return real(call, ops, nops, tag, reserved);
}

int grpc_byte_buffer_reader_init(grpc_byte_buffer_reader* reader, grpc_byte_buffer* buffer) {
  static auto real = RealFn<int (*)(grpc_byte_buffer_reader*, grpc_byte_buffer*)>(
      "grpc_byte_buffer_reader_init");
  ForEachSlice(buffer, [](void* p) { __tsan_acquire(p); });
  return real(reader, buffer);
}

grpc_event grpc_completion_queue_next(grpc_completion_queue* cq, gpr_timespec deadline,
                                      void* reserved) {
  static auto real = RealFn<grpc_event (*)(grpc_completion_queue*, gpr_timespec, void*)>(
      "grpc_completion_queue_next");
  grpc_event event = real(cq, deadline, reserved);
  AcquireCompleted(event);
  return event;
}

grpc_event grpc_completion_queue_pluck(grpc_completion_queue* cq, void* tag, gpr_timespec deadline,
                                       void* reserved) {
  static auto real = RealFn<grpc_event (*)(grpc_completion_queue*, void*, gpr_timespec, void*)>(
      "grpc_completion_queue_pluck");
  grpc_event event = real(cq, tag, deadline, reserved);
  AcquireCompleted(event);
  return event;
}

}  // extern "C"

// A server reactor's OnDone runs once every callback has dropped its reference on the call
// (callbacks_outstanding_). grpcpp's inline callbacks drop theirs with an acq_rel fetch_sub that
// TSan sees, but libgrpc++'s CompletionOp drops its own in uninstrumented code, and when it is the
// last one the chain to CallOnDone (and the call's teardown, on an executor thread) is lost.
// ScheduleOnDone runs right after the last drop: acquire there what the instrumented drops
// released. The executor hop after it goes through gpr_mu (absl::Mutex, annotated).
namespace grpc::internal {

void ServerCallbackCall::ScheduleOnDone(bool inline_ondone) {
  static auto real =
      RealFn<void (*)(ServerCallbackCall*, bool)>("_ZN4grpc8internal18ServerCallbackCall14ScheduleOnDoneEb");
  __tsan_acquire(&callbacks_outstanding_);
  real(this, inline_ondone);
}

}  // namespace grpc::internal
