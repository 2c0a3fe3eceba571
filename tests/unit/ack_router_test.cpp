// The Socket Mode client's ack routes and kept acks (white-box: the private
// headers of lib/slack/src): the ring's eviction order, the kept acks' byte
// bound, and a random run against a plain model of the documented rules.

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ack_router.hpp"

namespace {

using slack::detail::AckRouter;

std::string id(std::size_t n) { return "env-" + std::to_string(n); }

TEST(AckRouter, FindsWhatItRemembers) {
  AckRouter router(4);
  EXPECT_EQ(router.find("unknown"), nullptr);
  router.remember("a", 7);
  auto* route = router.find("a");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->link, 7u);
  EXPECT_FALSE(route->acked);
  EXPECT_TRUE(route->ack.empty());
  EXPECT_EQ(router.size(), 1u);
  EXPECT_EQ(router.find("b"), nullptr);
}

TEST(AckRouter, EvictsTheOldestAtTheCap) {
  AckRouter router(3);
  for (std::size_t n = 1; n <= 5; ++n) router.remember(id(n), n);
  EXPECT_EQ(router.size(), 3u);
  EXPECT_EQ(router.find(id(1)), nullptr);
  EXPECT_EQ(router.find(id(2)), nullptr);
  for (std::size_t n = 3; n <= 5; ++n) {
    ASSERT_NE(router.find(id(n)), nullptr) << n;
    EXPECT_EQ(router.find(id(n))->link, n);
  }
}

// A redelivery moves the route to its newest link, takes no new slot and
// keeps its place in the eviction order (the first delivery's).
TEST(AckRouter, RememberAgainTakesTheNewestLinkInPlace) {
  AckRouter router(3);
  router.remember("a", 1);
  router.remember("b", 2);
  router.keep(*router.find("a"), "ack-a");
  router.remember("a", 5);
  EXPECT_EQ(router.size(), 2u);
  ASSERT_NE(router.find("a"), nullptr);
  EXPECT_EQ(router.find("a")->link, 5u);
  EXPECT_EQ(router.find("a")->ack, "ack-a");
  router.remember("c", 3);
  router.remember("d", 4);  // a is still the oldest
  EXPECT_EQ(router.size(), 3u);
  EXPECT_EQ(router.find("a"), nullptr);
  EXPECT_NE(router.find("b"), nullptr);
  EXPECT_NE(router.find("c"), nullptr);
  EXPECT_NE(router.find("d"), nullptr);
  EXPECT_EQ(router.kept_bytes(), 0u);
}

// A route forgotten beyond the cap takes its kept ack and on_written with it
// (on_written not run); the id, delivered again, starts a fresh route.
TEST(AckRouter, AForgottenRouteLosesItsAckAndOnWritten) {
  AckRouter router(2);
  router.remember("a", 1);
  auto* a = router.find("a");
  a->acked = true;
  a->redeliveries_waiting = 2;
  router.keep(*a, "ack-a!");
  auto ran = std::make_shared<int>(0);
  a->on_written = [ran] { ++*ran; };
  EXPECT_EQ(ran.use_count(), 2);
  router.remember("b", 2);
  router.keep(*router.find("b"), "ack-b");
  EXPECT_EQ(router.kept_bytes(), 11u);
  router.remember("c", 3);
  EXPECT_EQ(router.find("a"), nullptr);
  EXPECT_EQ(router.kept_bytes(), 5u);
  EXPECT_EQ(*ran, 0);
  EXPECT_EQ(ran.use_count(), 1) << "on_written released";
  router.remember("a", 9);  // evicts b
  a = router.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->link, 9u);
  EXPECT_FALSE(a->acked);
  EXPECT_TRUE(a->ack.empty());
  EXPECT_FALSE(a->on_written);
  EXPECT_EQ(a->redeliveries_waiting, 0u);
  EXPECT_EQ(router.find("b"), nullptr);
  EXPECT_EQ(router.kept_bytes(), 0u);
}

TEST(AckRouter, KeptAcksBeyondTheByteCapGoOldestFirst) {
  AckRouter router(10, 10);
  for (const char* name : {"a", "b", "c"}) router.remember(name, 1);
  router.keep(*router.find("a"), "aaaa");
  router.keep(*router.find("b"), "bbbb");
  EXPECT_EQ(router.kept_bytes(), 8u);
  router.keep(*router.find("c"), "cccc");
  EXPECT_EQ(router.kept_bytes(), 8u);
  EXPECT_TRUE(router.find("a")->ack.empty()) << "the route stays, its ack goes";
  EXPECT_EQ(router.find("b")->ack, "bbbb");
  EXPECT_EQ(router.find("c")->ack, "cccc");
  EXPECT_EQ(router.size(), 3u);
}

// Keeping again replaces the ack (bytes counted once) and makes it the
// newest kept one.
TEST(AckRouter, KeepReplacesAnEarlierAck) {
  AckRouter router(10, 6);
  for (const char* name : {"a", "b", "c"}) router.remember(name, 1);
  router.keep(*router.find("a"), "aaa");
  router.keep(*router.find("b"), "bbb");
  EXPECT_EQ(router.kept_bytes(), 6u);
  router.keep(*router.find("a"), "AA");
  EXPECT_EQ(router.kept_bytes(), 5u);
  EXPECT_EQ(router.find("a")->ack, "AA");
  router.keep(*router.find("c"), "cc");  // 7 bytes: b is now the oldest
  EXPECT_EQ(router.kept_bytes(), 4u);
  EXPECT_TRUE(router.find("b")->ack.empty());
  EXPECT_EQ(router.find("a")->ack, "AA");
  EXPECT_EQ(router.find("c")->ack, "cc");
}

// The newest ack stays even alone over the cap, and goes first after.
TEST(AckRouter, AnAckOverTheByteCapIsKeptUntilTheNext) {
  AckRouter router(10, 4);
  for (const char* name : {"a", "b", "c"}) router.remember(name, 1);
  router.keep(*router.find("a"), "aa");
  router.keep(*router.find("b"), "bbbbbbbb");
  EXPECT_EQ(router.kept_bytes(), 8u);
  EXPECT_TRUE(router.find("a")->ack.empty());
  EXPECT_EQ(router.find("b")->ack, "bbbbbbbb");
  router.keep(*router.find("c"), "c");
  EXPECT_EQ(router.kept_bytes(), 1u);
  EXPECT_TRUE(router.find("b")->ack.empty());
  EXPECT_EQ(router.find("c")->ack, "c");
}

// socket_mode_client holds find's pointer across keep() and then sends
// route->ack: keep forgets other routes' acks, never moves a route.
TEST(AckRouter, FindsPointerOutlivesKeep) {
  AckRouter router(100, 300);
  for (std::size_t n = 0; n < 50; ++n) {
    router.remember(id(n), n);
    router.keep(*router.find(id(n)), std::string(100, 'x'));
  }
  router.remember("late", 99);
  auto* route = router.find("late");
  const std::string payload(250, 'p');
  router.keep(*route, std::string(payload));
  EXPECT_EQ(route, router.find("late"));
  EXPECT_EQ(route->ack, payload);
  EXPECT_EQ(route->link, 99u);
  EXPECT_EQ(router.kept_bytes(), 250u) << "every older ack forgotten";
}

TEST(AckRouter, ACapOfZeroRemembersNothing) {
  AckRouter router(0);
  router.remember("a", 1);
  EXPECT_EQ(router.find("a"), nullptr);
  EXPECT_EQ(router.size(), 0u);
}

// Five times round a ring (of a size that is no power of two): each new id
// takes the oldest's slot; exactly the newest `cap` are found, with their
// links and acks, and the byte count is their acks' sum.
TEST(AckRouter, WrapsAroundTheRingManyTimes) {
  constexpr std::size_t kCap = 1000;
  AckRouter router(kCap);
  constexpr std::size_t kTotal = 5 * kCap + 37;
  const auto ack_of = [](std::size_t n) {
    return std::string(1 + n % 17, static_cast<char>('a' + n % 26));
  };
  for (std::size_t n = 0; n < kTotal; ++n) {
    router.remember(id(n), 1000 + n);
    router.keep(*router.find(id(n)), ack_of(n));
    ASSERT_EQ(router.size(), std::min(n + 1, kCap));
  }
  std::size_t bytes = 0;
  for (std::size_t n = 0; n < kTotal; ++n) {
    auto* route = router.find(id(n));
    if (n < kTotal - kCap) {
      ASSERT_EQ(route, nullptr) << n;
      continue;
    }
    ASSERT_NE(route, nullptr) << n;
    EXPECT_EQ(route->link, 1000 + n);
    EXPECT_EQ(route->ack, ack_of(n));
    bytes += ack_of(n).size();
  }
  EXPECT_EQ(router.kept_bytes(), bytes);
}

// Random remembers (new ids and redeliveries) and keeps, against a model of
// the documented rules built on std containers.
TEST(AckRouter, AgreesWithAModelUnderRandomChurn) {
  constexpr std::size_t kCap = 64;
  constexpr std::size_t kKeptCap = 2000;
  struct ModelRoute {
    std::uint64_t link = 0;
    std::string ack;
  };
  std::map<std::string, ModelRoute> routes;
  std::deque<std::string> order;  // by first delivery
  std::deque<std::string> kept;   // by keep, oldest first
  std::size_t kept_bytes = 0;
  const auto forget_ack = [&](std::string name) {  // a copy: it may be kept.front()
    for (auto it = kept.begin(); it != kept.end(); ++it) {
      if (*it == name) {
        kept.erase(it);
        break;
      }
    }
    kept_bytes -= routes[name].ack.size();
    routes[name].ack.clear();
  };

  AckRouter router(kCap, kKeptCap);
  std::mt19937_64 random(20261207);
  std::size_t fresh = 0;
  for (int step = 0; step < 50000; ++step) {
    const auto roll = random() % 10;
    if (roll < 4 || routes.empty()) {
      // A new id, or one delivered again (possibly forgotten by now).
      const std::string name = roll == 0 && fresh > 0 ? id(random() % fresh) : id(fresh++);
      const std::uint64_t link = random() % 1000;
      router.remember(name, link);
      if (routes.count(name) == 0) {
        routes[name] = {};
        order.push_back(name);
        if (order.size() > kCap) {
          forget_ack(order.front());
          routes.erase(order.front());
          order.pop_front();
        }
      }
      routes[name].link = link;
    } else {
      const std::string& name = order[random() % order.size()];
      std::string text(random() % 300, static_cast<char>('a' + step % 26));
      auto* route = router.find(name);
      ASSERT_NE(route, nullptr);
      router.keep(*route, text);
      forget_ack(name);
      routes[name].ack = text;
      kept_bytes += text.size();
      kept.push_back(name);
      while (kept_bytes > kKeptCap && kept.front() != name) forget_ack(kept.front());
    }
    ASSERT_EQ(router.size(), routes.size());
    ASSERT_EQ(router.kept_bytes(), kept_bytes);
  }
  for (std::size_t n = 0; n < fresh; ++n) {
    const auto it = routes.find(id(n));
    auto* route = router.find(id(n));
    if (it == routes.end()) {
      ASSERT_EQ(route, nullptr) << n;
      continue;
    }
    ASSERT_NE(route, nullptr) << n;
    EXPECT_EQ(route->link, it->second.link);
    EXPECT_EQ(route->ack, it->second.ack);
  }
}

}  // namespace
