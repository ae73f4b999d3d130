// Unit tests for the pgoutput decoder against golden fixtures captured from PostgreSQL 15,
// plus truncation and mutation robustness (no server).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "partshift/stream/pgoutput_decoder.hpp"
#include "pgoutput_fixture.hpp"

using namespace partshift::stream;
using partshift::testing::fixture_message;
using partshift::testing::load_fixture;

namespace {

// decoded_stream decodes a fixture the way the streamer does: tracking Stream Start/Stop.
struct decoded_stream {
    std::vector<message> messages;
    std::vector<bool> in_stream;  // the flag each message was decoded with
    std::string types;            // message_type of each, concatenated
    std::map<uint32_t, relation_msg> relations;

    template <typename T>
    std::vector<T> all() const {
        std::vector<T> out;
        for (const auto& m : messages) {
            if (const auto* p = std::get_if<T>(&m)) out.push_back(*p);
        }
        return out;
    }
    uint32_t relid(const std::string& name) const {
        for (const auto& [id, r] : relations) {
            if (r.nspname + "." + r.relname == name) return id;
        }
        ADD_FAILURE() << "no relation " << name;
        return 0;
    }
};

decoded_stream decode_fixture(const std::string& name) {
    decoded_stream out;
    bool in_stream = false;
    for (const auto& f : load_fixture(name)) {
        message m = decode_pgoutput(f.bytes, in_stream);
        out.in_stream.push_back(in_stream);
        if (std::holds_alternative<stream_start_msg>(m)) in_stream = true;
        if (std::holds_alternative<stream_stop_msg>(m)) in_stream = false;
        if (const auto* r = std::get_if<relation_msg>(&m)) out.relations[r->relid] = *r;
        out.types.push_back(message_type(m));
        out.messages.push_back(std::move(m));
    }
    return out;
}

}  // namespace

using kind = tuple_value::kind;

namespace {

tuple_value text(const std::string& s) {
    return {kind::text, s};
}
tuple_value null() {
    return {kind::null, {}};
}
tuple_value unchanged() {
    return {kind::unchanged_toast, {}};
}

}  // namespace

TEST(PgoutputDecoder, Proto1TextSequence) {
    const auto d = decode_fixture("proto1_text.hex");
    // One letter per message, in server order (see tests/fixtures/pgoutput/README.md).
    EXPECT_EQ(d.types,
              "BYRIC"
              "BIC"
              "BUC"
              "BUC"
              "BDC"
              "BRIC"
              "BUC"
              "BDC"
              "BRIC"
              "BUC"
              "BDC"
              "BRIC"
              "BRIC"
              "BRRTC"
              "BIMC"
              "M"
              "BOIC");
    for (bool s : d.in_stream) EXPECT_FALSE(s);
}

TEST(PgoutputDecoder, Proto1BeginCommitAreConsistent) {
    const auto d = decode_fixture("proto1_text.hex");
    const auto fixtures = load_fixture("proto1_text.hex");
    std::optional<begin_msg> open;
    for (std::size_t i = 0; i < d.messages.size(); ++i) {
        if (const auto* b = std::get_if<begin_msg>(&d.messages[i])) {
            ASSERT_FALSE(open);
            open = *b;
            EXPECT_EQ(b->xid, fixtures[i].xid);
            EXPECT_GT(b->commit_time, 700'000'000'000'000);  // after 2022, in µs since 2000
        } else if (const auto* c = std::get_if<commit_msg>(&d.messages[i])) {
            ASSERT_TRUE(open);
            EXPECT_EQ(c->flags, 0);
            EXPECT_EQ(c->commit_lsn, open->final_lsn);
            EXPECT_GT(c->end_lsn, c->commit_lsn);
            EXPECT_EQ(c->commit_time, open->commit_time);
            // The SQL interface reports a Commit at the end of its commit record.
            EXPECT_EQ(format_lsn(c->end_lsn), fixtures[i].lsn);
            open.reset();
        }
    }
    EXPECT_FALSE(open);
}

TEST(PgoutputDecoder, Proto1RelationsAndType) {
    const auto d = decode_fixture("proto1_text.hex");
    const auto types = d.all<type_msg>();
    ASSERT_EQ(types.size(), 1u);
    EXPECT_EQ(types[0].nspname, "fx");
    EXPECT_EQ(types[0].typname, "mood");
    EXPECT_FALSE(types[0].xid);

    const auto& items = d.relations.at(d.relid("fx.items"));
    EXPECT_EQ(items.replica_identity, 'd');
    ASSERT_EQ(items.columns.size(), 7u);
    const std::vector<std::string> names{"id", "name", "qty", "payload", "doc", "big", "mood"};
    const std::vector<uint32_t> oids{23, 25, 23, 17, 3802, 25, types[0].oid};
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(items.columns[i].name, names[i]);
        EXPECT_EQ(items.columns[i].type_oid, oids[i]) << names[i];
        EXPECT_EQ(items.columns[i].typmod, -1);
        EXPECT_EQ(items.columns[i].is_key, i == 0) << names[i];
    }
    EXPECT_EQ(d.relations.at(d.relid("fx.full_rows")).replica_identity, 'f');
    // FULL: every column is part of the identity.
    for (const auto& c : d.relations.at(d.relid("fx.full_rows")).columns) EXPECT_TRUE(c.is_key);
    const auto& by_index = d.relations.at(d.relid("fx.by_index"));
    EXPECT_EQ(by_index.replica_identity, 'i');
    ASSERT_EQ(by_index.columns.size(), 3u);
    EXPECT_TRUE(by_index.columns[0].is_key);
    EXPECT_TRUE(by_index.columns[1].is_key);
    EXPECT_FALSE(by_index.columns[2].is_key);
    EXPECT_EQ(d.relations.at(d.relid("fx.no_ident")).replica_identity, 'n');
}

TEST(PgoutputDecoder, Proto1InsertsUpdatesDeletes) {
    const auto d = decode_fixture("proto1_text.hex");
    const uint32_t items = d.relid("fx.items");
    const auto inserts = d.all<insert_msg>();
    ASSERT_GE(inserts.size(), 2u);
    const auto& first = inserts[0].new_tuple;
    EXPECT_EQ(inserts[0].relid, items);
    ASSERT_EQ(first.size(), 7u);
    EXPECT_EQ(first[0], text("1"));
    EXPECT_EQ(first[1], text("alpha"));
    EXPECT_EQ(first[2], text("10"));
    EXPECT_EQ(first[3], text("\\x00ff10"));
    EXPECT_EQ(first[4], text("{\"a\": [1, 2]}"));
    EXPECT_EQ(first[5].k, kind::text);
    EXPECT_EQ(first[5].data.size(), 9600u);  // the TOASTed value arrives whole on INSERT
    EXPECT_EQ(first[5].data.substr(0, 32), "c4ca4238a0b923820dcc509a6f75849b");  // md5('1')
    EXPECT_EQ(first[6], text("happy"));
    EXPECT_EQ(inserts[1].new_tuple,
              (tuple{text("2"), text("beta"), null(), null(), null(), null(), null()}));

    const auto updates = d.all<update_msg>();
    ASSERT_EQ(updates.size(), 4u);
    // Update not touching the key: no old tuple; the untouched TOASTed column is 'u'.
    EXPECT_EQ(updates[0].relid, items);
    EXPECT_EQ(updates[0].old_kind, '\0');
    EXPECT_TRUE(updates[0].old_tuple.empty());
    EXPECT_EQ(updates[0].new_tuple, (tuple{text("1"), text("alpha2"), text("11"), text("\\x00ff10"),
                                           text("{\"a\": [1, 2]}"), unchanged(), text("happy")}));
    // Update changing the key: 'K' old tuple with only the key filled.
    EXPECT_EQ(updates[1].old_kind, 'K');
    EXPECT_EQ(updates[1].old_tuple,
              (tuple{text("1"), null(), null(), null(), null(), null(), null()}));
    EXPECT_EQ(updates[1].new_tuple[0], text("3"));
    EXPECT_EQ(updates[1].new_tuple[5], unchanged());
    // REPLICA IDENTITY FULL: 'O' with the whole old row.
    EXPECT_EQ(updates[2].relid, d.relid("fx.full_rows"));
    EXPECT_EQ(updates[2].old_kind, 'O');
    EXPECT_EQ(updates[2].old_tuple, (tuple{text("1"), text("one")}));
    EXPECT_EQ(updates[2].new_tuple, (tuple{text("1"), text("uno")}));
    // REPLICA IDENTITY USING INDEX (a, b), b changed: 'K' with a and b.
    EXPECT_EQ(updates[3].relid, d.relid("fx.by_index"));
    EXPECT_EQ(updates[3].old_kind, 'K');
    EXPECT_EQ(updates[3].old_tuple, (tuple{text("1"), text("x"), null()}));
    EXPECT_EQ(updates[3].new_tuple, (tuple{text("1"), text("y"), text("c1")}));

    const auto deletes = d.all<delete_msg>();
    ASSERT_EQ(deletes.size(), 3u);
    EXPECT_EQ(deletes[0].relid, items);
    EXPECT_EQ(deletes[0].old_kind, 'K');
    EXPECT_EQ(deletes[0].old_tuple,
              (tuple{text("2"), null(), null(), null(), null(), null(), null()}));
    EXPECT_EQ(deletes[1].old_kind, 'O');
    EXPECT_EQ(deletes[1].old_tuple, (tuple{text("1"), text("uno")}));
    EXPECT_EQ(deletes[2].old_kind, 'K');
    EXPECT_EQ(deletes[2].old_tuple, (tuple{text("1"), text("y"), null()}));
}

TEST(PgoutputDecoder, Proto1TruncateMessagesOrigin) {
    const auto d = decode_fixture("proto1_text.hex");
    const auto truncates = d.all<truncate_msg>();
    ASSERT_EQ(truncates.size(), 1u);
    EXPECT_EQ(truncates[0].options, 3);  // CASCADE | RESTART IDENTITY
    auto relids = truncates[0].relids;
    std::sort(relids.begin(), relids.end());
    std::vector<uint32_t> want{d.relid("fx.trunc_a"), d.relid("fx.trunc_b")};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(relids, want);

    const auto msgs = d.all<logical_message_msg>();
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_TRUE(msgs[0].transactional);
    EXPECT_EQ(msgs[0].prefix, "partshift.fence");
    EXPECT_EQ(msgs[0].content, "fence-1");
    EXPECT_GT(msgs[0].lsn, 0u);
    EXPECT_FALSE(msgs[1].transactional);
    EXPECT_EQ(msgs[1].prefix, "partshift.note");
    EXPECT_EQ(msgs[1].content, std::string("\x00\x01\xff", 3));

    const auto origins = d.all<origin_msg>();
    ASSERT_EQ(origins.size(), 1u);
    EXPECT_EQ(origins[0].name, "fx_origin");
    EXPECT_EQ(origins[0].lsn, *parse_lsn("0/ABCDEF"));
    EXPECT_EQ(d.all<insert_msg>().back().new_tuple[1], text("from-origin"));
}

TEST(PgoutputDecoder, Proto1BinaryMode) {
    const auto d = decode_fixture("proto1_binary.hex");
    EXPECT_EQ(d.types, decode_fixture("proto1_text.hex").types);
    const auto first = d.all<insert_msg>().at(0).new_tuple;
    ASSERT_EQ(first.size(), 7u);
    for (const auto& v : first) EXPECT_EQ(v.k, kind::binary);
    EXPECT_EQ(first[0].data, std::string("\x00\x00\x00\x01", 4));  // int4send
    EXPECT_EQ(first[3].data, std::string("\x00\xff\x10", 3));      // bytea: raw bytes
    EXPECT_EQ(first[4].data.substr(0, 1), "\x01");                 // jsonb version byte
    // 'u' and 'n' look the same in binary mode.
    const auto upd = d.all<update_msg>().at(0).new_tuple;
    EXPECT_EQ(upd[5], unchanged());
    EXPECT_EQ(upd[2].data, std::string("\x00\x00\x00\x0b", 4));
}

TEST(PgoutputDecoder, Proto2StreamingBlocks) {
    const auto d = decode_fixture("proto2_stream.hex");
    const auto fixtures = load_fixture("proto2_stream.hex");
    const uint32_t bulk = d.relid("fx.bulk");
    std::optional<uint32_t> block_xid;
    std::map<uint32_t, int> blocks;
    // [xid] inside a block is the xid of the (sub)transaction that made the change, which is
    // not always the block's (toplevel) xid: collect them per block.
    std::map<uint32_t, std::set<uint32_t>> change_xids;
    for (std::size_t i = 0; i < d.messages.size(); ++i) {
        const auto& m = d.messages[i];
        if (const auto* s = std::get_if<stream_start_msg>(&m)) {
            EXPECT_EQ(s->first_segment, blocks[s->xid] == 0);
            ++blocks[s->xid];
            block_xid = s->xid;
            // The SQL interface's xid column is the toplevel xid.
            EXPECT_EQ(fixtures[i].xid, s->xid);
        } else if (std::holds_alternative<stream_stop_msg>(m)) {
            block_xid.reset();
        } else if (const auto* ins = std::get_if<insert_msg>(&m)) {
            if (!block_xid) continue;  // the small transaction at the end
            ASSERT_TRUE(ins->xid);
            change_xids[*block_xid].insert(*ins->xid);
            EXPECT_EQ(ins->relid, bulk);
            EXPECT_EQ(ins->new_tuple.size(), 2u);
        } else if (const auto* u = std::get_if<update_msg>(&m)) {
            ASSERT_TRUE(block_xid);
            ASSERT_TRUE(u->xid);
            change_xids[*block_xid].insert(*u->xid);
        } else if (const auto* r = std::get_if<relation_msg>(&m)) {
            ASSERT_TRUE(block_xid);
            ASSERT_TRUE(r->xid);
            change_xids[*block_xid].insert(*r->xid);
            EXPECT_EQ(r->relname, "bulk");
        }
    }
    ASSERT_EQ(blocks.size(), 3u);
    for (const auto& [xid, n] : blocks) EXPECT_GE(n, 5) << xid;

    const auto commits = d.all<stream_commit_msg>();
    ASSERT_EQ(commits.size(), 2u);
    for (const auto& c : commits) {
        EXPECT_TRUE(blocks.count(c.xid));
        EXPECT_EQ(c.flags, 0);
        EXPECT_GT(c.end_lsn, c.commit_lsn);
        EXPECT_GT(c.commit_time, 700'000'000'000'000);
    }
    const auto aborts = d.all<stream_abort_msg>();
    ASSERT_EQ(aborts.size(), 2u);
    EXPECT_EQ(aborts[0].xid, aborts[0].subxid);  // the whole transaction rolled back
    EXPECT_NE(aborts[1].xid, aborts[1].subxid);  // ROLLBACK TO SAVEPOINT
    EXPECT_EQ(aborts[1].xid, commits[1].xid);    // ... and the transaction then committed

    // Transactions without subtransactions: every [xid] is the block's xid.
    EXPECT_EQ(change_xids[commits[0].xid], std::set<uint32_t>{commits[0].xid});
    EXPECT_EQ(change_xids[aborts[0].xid], std::set<uint32_t>{aborts[0].xid});
    // The savepoint transaction: changes carry the toplevel xid, the aborted subxact's xid,
    // and (after ROLLBACK TO SAVEPOINT restarts s1) a third, newer subxact xid.
    const auto& sub = change_xids[commits[1].xid];
    EXPECT_EQ(sub.size(), 3u);
    EXPECT_TRUE(sub.count(commits[1].xid));
    EXPECT_TRUE(sub.count(aborts[1].subxid));
    for (const auto& ins : d.all<insert_msg>()) {
        if (ins.new_tuple.size() == 2 && ins.new_tuple[1].data == std::string(100, 's')) {
            EXPECT_EQ(ins.xid, aborts[1].subxid);  // rows of the rolled-back savepoint
        }
    }

    // The update after the aborted savepoint, streamed, with no old tuple.
    const auto updates = d.all<update_msg>();
    ASSERT_EQ(updates.size(), 1u);
    EXPECT_TRUE(sub.count(*updates[0].xid));
    EXPECT_EQ(updates[0].old_kind, '\0');
    EXPECT_EQ(updates[0].new_tuple, (tuple{text("20001"), text("updated")}));

    // The small transaction at the end is not streamed.
    EXPECT_EQ(d.types.substr(d.types.size() - 3), "BIC");
    EXPECT_FALSE(d.all<insert_msg>().back().xid);
    EXPECT_EQ(d.all<insert_msg>().back().new_tuple, (tuple{text("40001"), text("small")}));
}

TEST(PgoutputDecoder, StreamFlagMatters) {
    // A data message decoded with the wrong in_stream_block flag misreads the relid; the
    // decoder must either fail or return a different message, never crash.
    const auto fixtures = load_fixture("proto2_stream.hex");
    int in_stream_ok = 0;
    bool in_stream = false;
    for (const auto& f : fixtures) {
        auto m = decode_pgoutput(f.bytes, in_stream);
        if (std::holds_alternative<stream_start_msg>(m)) in_stream = true;
        if (std::holds_alternative<stream_stop_msg>(m)) in_stream = false;
        if (std::holds_alternative<stream_start_msg>(m)) {
            EXPECT_THROW(decode_pgoutput(f.bytes, true), decode_error);
        }
        if (std::holds_alternative<stream_stop_msg>(m)) {
            EXPECT_THROW(decode_pgoutput(f.bytes, false), decode_error);
        }
        if (std::holds_alternative<insert_msg>(m) && in_stream) {
            try {
                EXPECT_NE(decode_pgoutput(f.bytes, false), m);
            } catch (const decode_error&) {
                ++in_stream_ok;
            }
        }
    }
    EXPECT_GT(in_stream_ok, 0);
}

TEST(PgoutputDecoder, EveryStrictPrefixThrows) {
    for (auto name : {"proto1_text.hex", "proto1_binary.hex", "proto2_stream.hex"}) {
        bool in_stream = false;
        for (const auto& f : load_fixture(name)) {
            const auto full = decode_pgoutput(f.bytes, in_stream);
            for (std::size_t n = 0; n < f.bytes.size(); ++n) {
                const std::string_view prefix(f.bytes.data(), n);
                try {
                    decode_pgoutput(prefix, in_stream);
                    ADD_FAILURE() << name << " line " << f.line << ": prefix " << n << " decoded";
                } catch (const decode_error& e) {
                    EXPECT_LE(e.offset(), n);
                }
            }
            // ... and one trailing byte is rejected too.
            EXPECT_THROW(decode_pgoutput(f.bytes + '\0', in_stream), decode_error);
            if (std::holds_alternative<stream_start_msg>(full)) in_stream = true;
            if (std::holds_alternative<stream_stop_msg>(full)) in_stream = false;
        }
    }
}

TEST(PgoutputDecoder, RandomMutationsNeverCrash) {
    std::mt19937 rng(20240601);  // fixed seed: failures must reproduce
    std::vector<fixture_message> all;
    for (auto name : {"proto1_text.hex", "proto1_binary.hex", "proto2_stream.hex"}) {
        auto f = load_fixture(name);
        all.insert(all.end(), f.begin(), f.end());
    }
    int decoded = 0;
    int rejected = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string bytes = all[rng() % all.size()].bytes;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < flips; ++i) {
            const std::size_t pos = rng() % bytes.size();
            switch (rng() % 3) {
                case 0:
                    bytes[pos] = static_cast<char>(rng());
                    break;
                case 1:
                    bytes[pos] = static_cast<char>(0xff);  // large counts and lengths
                    break;
                default:
                    bytes.resize(pos + 1);
                    break;
            }
        }
        try {
            decode_pgoutput(bytes, rng() % 2 == 0);
            ++decoded;
        } catch (const decode_error&) {
            ++rejected;
        }
    }
    EXPECT_GT(rejected, 0);
    EXPECT_GT(decoded, 0);
}

TEST(PgoutputDecoder, RejectsGarbage) {
    EXPECT_THROW(decode_pgoutput(std::string_view{}, false), decode_error);
    EXPECT_THROW(decode_pgoutput(std::string_view("Z"), false), decode_error);
    // Insert with a huge column count and no data: refused before allocating.
    const std::string huge("I\0\0\0\x01N\xff\xff", 8);
    EXPECT_THROW(decode_pgoutput(huge, false), decode_error);
    // Negative text length.
    const std::string negative("I\0\0\0\x01N\0\x01t\xff\xff\xff\xff", 13);
    EXPECT_THROW(decode_pgoutput(negative, false), decode_error);
    // Truncate claiming 2^32-1 relations.
    const std::string trunc("T\xff\xff\xff\xff\0", 6);
    EXPECT_THROW(decode_pgoutput(trunc, false), decode_error);
    // Unterminated string.
    const std::string origin(
        "O\0\0\0\0\0\0\0\x01"
        "abc",
        12);
    EXPECT_THROW(decode_pgoutput(origin, false), decode_error);
    try {
        decode_pgoutput(std::string_view("B\0\0", 3), false);
        FAIL();
    } catch (const decode_error& e) {
        EXPECT_EQ(e.offset(), 1u);
        EXPECT_NE(std::string(e.what()).find("Begin"), std::string::npos) << e.what();
    }
}

TEST(PgoutputDecoder, SpanOverload) {
    const auto f = load_fixture("proto1_text.hex").at(0);
    const auto span = std::as_bytes(std::span(f.bytes.data(), f.bytes.size()));
    EXPECT_EQ(decode_pgoutput(span, false), decode_pgoutput(f.bytes, false));
}

TEST(Lsn, FormatAndParse) {
    EXPECT_EQ(format_lsn(0), "0/0");
    EXPECT_EQ(format_lsn((lsn_t{0x16} << 32) | 0xB374D848), "16/B374D848");
    EXPECT_EQ(parse_lsn("16/B374D848"), (lsn_t{0x16} << 32) | 0xB374D848);
    EXPECT_EQ(parse_lsn("16/b374d848"), (lsn_t{0x16} << 32) | 0xB374D848);
    EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), ~lsn_t{0});
    EXPECT_EQ(parse_lsn(format_lsn(123456789012345)), 123456789012345u);
    for (const char* bad : {"", "/", "1/", "/1", "16B374D848", "1/2/3", "g/1", "1/ 2", "-1/2",
                            "123456789/0", "1/+2", "0x1/2"}) {
        EXPECT_FALSE(parse_lsn(bad)) << bad;
    }
}
