// streamed_transactions: where the streamer stages the changes of a large transaction that the
// server streams before its commit (pgoutput protocol 2, `streaming 'on'`). The server streams
// a transaction once its changes outgrow logical_decoding_work_mem instead of spilling them to
// pg_replslot/; the changes come in blocks (Stream Start ... Stream Stop) interleaved with other
// transactions, and the transaction ends in a Stream Commit or a Stream Abort. The spool holds
// only committed transactions in commit order, so a streamed one is staged here and handed to
// the sink whole at its commit. Staged bytes are not durable: after a reconnect or a restart
// the server streams every transaction it has not seen acknowledged again from its start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::stream {

class streamed_transactions {
  public:
    virtual ~streamed_transactions() = default;
    // start: a Stream Start of the toplevel transaction xid. first_segment starts it afresh
    // (whatever was staged under that xid goes); otherwise its later blocks continue it.
    virtual void start(uint32_t xid, bool first_segment) = 0;
    // append: one message of xid's open block, as decoded (changes carry the xid of the
    // subtransaction that made them).
    virtual void append(uint32_t xid, const message& msg) = 0;
    // abort: a Stream Abort. subxid == xid drops the whole transaction; otherwise the changes
    // of subtransaction subxid go, with everything staged after its first change (its own
    // subtransactions'; none of its parent's can follow it).
    virtual void abort(uint32_t xid, uint32_t subxid) = 0;
    // replay_some: a Stream Commit of xid: the next staged messages in order, at most
    // max_messages of them; true once all were handed over (xid is then forgotten), false
    // while more remain (the next call goes on where this one stopped). Nothing staged (the
    // server streamed only changes pgoutput filtered out): true, no call.
    virtual bool replay_some(uint32_t xid, const std::function<void(const message&)>& each,
                             std::size_t max_messages) = 0;
    // replay: all of it at once.
    void replay(uint32_t xid, const std::function<void(const message&)>& each) {
        while (!replay_some(xid, each, static_cast<std::size_t>(-1))) {
        }
    }
    // discard: forgets xid (a Stream Commit of a transaction the sink already holds).
    virtual void discard(uint32_t xid) = 0;
    // clear: forgets every staged transaction (a new replication session streams them again).
    virtual void clear() = 0;
    // staged_bytes: what is staged now, across transactions; open_transactions: how many.
    virtual uint64_t staged_bytes() const = 0;
    virtual std::size_t open_transactions() const = 0;
};

}  // namespace partshift::stream
