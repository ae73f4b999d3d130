// vector_change_feed: a change_feed over messages held in memory, for tests and small replays.
// Must not be used for real backlogs: it holds every message (the spool feed streams instead).
#pragma once

#include <functional>
#include <vector>

#include "partshift/apply/change_feed.hpp"

namespace partshift::apply {

class vector_change_feed : public change_feed {
  public:
    explicit vector_change_feed(std::vector<stream::message> messages)
        : messages_(std::move(messages)) {}

    // before_next runs before message i is handed out (tests use it to inject faults).
    void set_before_next(std::function<void(size_t)> hook) { before_next_ = std::move(hook); }

    asio::awaitable<std::optional<stream::message>> next() override {
        if (position_ >= messages_.size()) co_return std::nullopt;
        if (before_next_) before_next_(position_);
        co_return messages_[position_++];
    }
    bool caught_up() const override { return position_ >= messages_.size(); }

    size_t position() const { return position_; }
    void rewind() { position_ = 0; }

  private:
    std::vector<stream::message> messages_;
    std::function<void(size_t)> before_next_;
    size_t position_ = 0;
};

}  // namespace partshift::apply
