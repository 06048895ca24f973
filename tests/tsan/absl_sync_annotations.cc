// Makes Debian's (uninstrumented) absl::Mutex, absl::CondVar and absl::Notification visible to
// ThreadSanitizer. Built and LD_PRELOADed by scripts/test-tsan.sh only; never linked into a
// program.
//
// Why: libabsl_synchronization.so is built without -fsanitize=thread, so its lock and unlock
// are plain atomics and futex calls that TSan cannot see. Every access our code makes under an
// absl::MutexLock would then look unsynchronized (and so would gRPC's, whose grpc_core::Mutex
// and gpr_mu wrap absl::Mutex). An abseil built with TSan annotates these operations itself
// (ABSL_TSAN_MUTEX_* in mutex.cc); this file adds the same annotations from outside: each public
// entry point is interposed (this library comes first in the symbol search order), tells TSan
// what it does, and calls the real function (dlsym RTLD_NEXT). Callers reach these entry points
// through the PLT, both from our code (inline MutexLock) and from libgrpc/libgpr.
//
// The annotations follow abseil's own: pre/post lock and unlock around Lock/Unlock and the
// reader variants; LockWhen* as a lock; Await* and CondVar::Wait* as unlock + lock (they release
// the mutex while waiting; a condition evaluated inside is ignored between pre and post lock, as
// in abseil). CondVar::Wait assumes the mutex is held exclusively (ours and gRPC's always are).
// Notification is a release in Notify and an acquire where a waiter sees it notified.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define AG_STR2(x) #x
#define AG_STR(x) AG_STR2(x)

// The real symbol: "_ZN" or "_ZNK", then absl::<inline namespace>::<rest> in Itanium mangling.
void* Real(const char* prefix, const char* rest) {
  const char* ns = AG_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  std::string name = std::string(prefix) + "4absl" + std::to_string(std::strlen(ns)) + ns + rest;
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr, "absl_sync_annotations: %s not found: %s\n", name.c_str(), dlerror());
    std::abort();
  }
  return fn;
}

template <typename Fn>
Fn RealFn(const char* prefix, const char* rest) {
  return reinterpret_cast<Fn>(Real(prefix, rest));
}

// Some entry points call others through the PLT (AwaitWithTimeout calls AwaitWithDeadline,
// CondVar::WaitWithTimeout calls WaitWithDeadline, ...): only the outermost one annotates.
thread_local int depth = 0;
class Outer {
 public:
  Outer() : outer_(depth++ == 0) {}
  ~Outer() { --depth; }
  Outer(const Outer&) = delete;
  Outer& operator=(const Outer&) = delete;
  explicit operator bool() const { return outer_; }

 private:
  const bool outer_;
};

constexpr unsigned kRead = __tsan_mutex_read_lock;
constexpr unsigned kTry = __tsan_mutex_try_lock;
constexpr unsigned kTryFailed = __tsan_mutex_try_lock_failed;

// Marks `mu` released then re-acquired (exclusively) around a wait that releases it.
// The pre_lock goes before the real wait: a Condition is evaluated inside it with the mutex held
// (by this thread or by the unlocking one), and TSan ignores accesses between pre and post, as
// abseil's own annotations arrange.
template <typename F>
auto AroundWait(void* mu, unsigned flags, F wait) {
  const Outer outer;
  if (outer) {
    __tsan_mutex_pre_unlock(mu, flags);
    __tsan_mutex_post_unlock(mu, flags);
    __tsan_mutex_pre_lock(mu, flags);
  }
  auto result = wait();
  if (outer) __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}

// Lock-like entry points: pre before the real call, post after it, outermost only.
template <typename F>
auto AroundLock(void* mu, unsigned flags, F lock) {
  const Outer outer;
  if (outer) __tsan_mutex_pre_lock(mu, flags);
  auto result = lock();
  if (outer) __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}

template <typename F>
void AroundUnlock(void* mu, unsigned flags, F unlock) {
  const Outer outer;
  if (outer) __tsan_mutex_pre_unlock(mu, flags);
  unlock();
  if (outer) __tsan_mutex_post_unlock(mu, flags);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

using C = const Condition&;

Mutex::~Mutex() {
  static auto real = RealFn<void (*)(Mutex*)>("_ZN", "5MutexD2Ev");
  __tsan_mutex_destroy(this, __tsan_mutex_not_static);
  real(this);
}

void Mutex::Lock() {
  static auto real = RealFn<void (*)(Mutex*)>("_ZN", "5Mutex4LockEv");
  AroundLock(this, 0, [&] { real(this); return 0; });
}

void Mutex::ReaderLock() {
  static auto real = RealFn<void (*)(Mutex*)>("_ZN", "5Mutex10ReaderLockEv");
  AroundLock(this, kRead, [&] { real(this); return 0; });
}

bool Mutex::TryLock() {
  static auto real = RealFn<bool (*)(Mutex*)>("_ZN", "5Mutex7TryLockEv");
  const Outer outer;
  if (outer) __tsan_mutex_pre_lock(this, kTry);
  const bool locked = real(this);
  if (outer) __tsan_mutex_post_lock(this, locked ? kTry : kTry | kTryFailed, 0);
  return locked;
}

bool Mutex::ReaderTryLock() {
  static auto real = RealFn<bool (*)(Mutex*)>("_ZN", "5Mutex13ReaderTryLockEv");
  const Outer outer;
  if (outer) __tsan_mutex_pre_lock(this, kRead | kTry);
  const bool locked = real(this);
  if (outer) __tsan_mutex_post_lock(this, locked ? kRead | kTry : kRead | kTry | kTryFailed, 0);
  return locked;
}

void Mutex::Unlock() {
  static auto real = RealFn<void (*)(Mutex*)>("_ZN", "5Mutex6UnlockEv");
  AroundUnlock(this, 0, [&] { real(this); });
}

void Mutex::ReaderUnlock() {
  static auto real = RealFn<void (*)(Mutex*)>("_ZN", "5Mutex12ReaderUnlockEv");
  AroundUnlock(this, kRead, [&] { real(this); });
}

// LockWhen*: a lock that returns once the condition holds (the timed ones hold the lock on
// return whatever they return).
void Mutex::LockWhen(C cond) {
  static auto real = RealFn<void (*)(Mutex*, C)>("_ZN", "5Mutex8LockWhenERKNS0_9ConditionE");
  AroundLock(this, 0, [&] { real(this, cond); return 0; });
}

void Mutex::ReaderLockWhen(C cond) {
  static auto real =
      RealFn<void (*)(Mutex*, C)>("_ZN", "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  AroundLock(this, kRead, [&] { real(this, cond); return 0; });
}

bool Mutex::LockWhenWithTimeout(C cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Mutex*, C, Duration)>(
      "_ZN", "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return AroundLock(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(C cond, Time deadline) {
  static auto real = RealFn<bool (*)(Mutex*, C, Time)>(
      "_ZN", "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return AroundLock(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithTimeout(C cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Mutex*, C, Duration)>(
      "_ZN", "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return AroundLock(this, kRead, [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithDeadline(C cond, Time deadline) {
  static auto real = RealFn<bool (*)(Mutex*, C, Time)>(
      "_ZN", "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return AroundLock(this, kRead, [&] { return real(this, cond, deadline); });
}

// Await*: the caller holds the mutex; it is released while the condition is false.
void Mutex::Await(C cond) {
  static auto real = RealFn<void (*)(Mutex*, C)>("_ZN", "5Mutex5AwaitERKNS0_9ConditionE");
  AroundWait(this, 0, [&] { real(this, cond); return 0; });
}

bool Mutex::AwaitWithTimeout(C cond, Duration timeout) {
  static auto real = RealFn<bool (*)(Mutex*, C, Duration)>(
      "_ZN", "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return AroundWait(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(C cond, Time deadline) {
  static auto real = RealFn<bool (*)(Mutex*, C, Time)>(
      "_ZN", "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return AroundWait(this, 0, [&] { return real(this, cond, deadline); });
}

void CondVar::Wait(Mutex* mu) {
  static auto real = RealFn<void (*)(CondVar*, Mutex*)>("_ZN", "7CondVar4WaitEPNS0_5MutexE");
  AroundWait(mu, 0, [&] { real(this, mu); return 0; });
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, Duration)>(
      "_ZN", "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return AroundWait(mu, 0, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, Time)>(
      "_ZN", "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return AroundWait(mu, 0, [&] { return real(this, mu, deadline); });
}

// Notification: the flag is the synchronization object. HasBeenNotified() is an inline acquire
// load in the caller's (instrumented) code, which synchronizes with the release below.
void Notification::Notify() {
  static auto real = RealFn<void (*)(Notification*)>("_ZN", "12Notification6NotifyEv");
  __tsan_release(&notified_yet_);
  real(this);
}

void Notification::WaitForNotification() const {
  static auto real =
      RealFn<void (*)(const Notification*)>("_ZNK", "12Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(const_cast<std::atomic<bool>*>(&notified_yet_));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static auto real = RealFn<bool (*)(const Notification*, Duration)>(
      "_ZNK", "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<std::atomic<bool>*>(&notified_yet_));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static auto real = RealFn<bool (*)(const Notification*, Time)>(
      "_ZNK", "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<std::atomic<bool>*>(&notified_yet_));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
