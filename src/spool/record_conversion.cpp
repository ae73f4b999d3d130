// record_conversion: maps decoded pgoutput structs to spool records and back, field by field.
// Must stay lossless for every spooled kind (round-trip tested); no I/O.
#include "partshift/spool/record_conversion.hpp"

#include <type_traits>

#include "partshift/error.hpp"

namespace partshift::spool {

namespace {

using stream::tuple;
using stream::tuple_value;

proto::spool_column_value::kind to_proto(tuple_value::kind k) {
    switch (k) {
        case tuple_value::kind::null:
            return proto::spool_column_value::NULL_VALUE;
        case tuple_value::kind::unchanged_toast:
            return proto::spool_column_value::UNCHANGED;
        case tuple_value::kind::text:
            return proto::spool_column_value::TEXT;
        case tuple_value::kind::binary:
            return proto::spool_column_value::BINARY;
    }
    throw runtime_error("spool: unknown tuple value kind");
}

tuple_value::kind from_proto(proto::spool_column_value::kind k) {
    switch (k) {
        case proto::spool_column_value::NULL_VALUE:
            return tuple_value::kind::null;
        case proto::spool_column_value::UNCHANGED:
            return tuple_value::kind::unchanged_toast;
        case proto::spool_column_value::TEXT:
            return tuple_value::kind::text;
        case proto::spool_column_value::BINARY:
            return tuple_value::kind::binary;
        default:
            throw runtime_error("spool: unknown column value kind " + std::to_string(k));
    }
}

void put_tuple(const tuple& in, proto::spool_tuple* out) {
    out->mutable_columns()->Reserve(static_cast<int>(in.size()));
    for (const auto& v : in) {
        auto* c = out->add_columns();
        c->set_k(to_proto(v.k));
        if (!v.data.empty()) c->set_data(v.data);
    }
}

tuple get_tuple(const proto::spool_tuple& in) {
    tuple out;
    out.reserve(static_cast<std::size_t>(in.columns_size()));
    for (const auto& c : in.columns()) out.push_back({from_proto(c.k()), c.data()});
    return out;
}

template <typename Proto>
void put_xid(const std::optional<uint32_t>& xid, Proto* out) {
    if (xid) out->set_xid(*xid);
}

template <typename Proto>
std::optional<uint32_t> get_xid(const Proto& in) {
    if (in.has_xid()) return in.xid();
    return std::nullopt;
}

}  // namespace

bool is_spooled(const stream::message& msg) noexcept {
    return std::visit(
        [](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            return std::is_same_v<T, stream::begin_msg> || std::is_same_v<T, stream::commit_msg> ||
                   std::is_same_v<T, stream::relation_msg> ||
                   std::is_same_v<T, stream::insert_msg> || std::is_same_v<T, stream::update_msg> ||
                   std::is_same_v<T, stream::delete_msg> ||
                   std::is_same_v<T, stream::truncate_msg> ||
                   std::is_same_v<T, stream::logical_message_msg>;
        },
        msg);
}

proto::spool_record to_spool_record(const stream::message& msg) {
    proto::spool_record r;
    fill_spool_record(msg, r);
    return r;
}

void fill_spool_record(const stream::message& msg, proto::spool_record& r) {
    std::visit(
        [&r](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, stream::begin_msg>) {
                auto* b = r.mutable_begin();
                b->set_final_lsn(m.final_lsn);
                b->set_commit_time(m.commit_time);
                b->set_xid(m.xid);
            } else if constexpr (std::is_same_v<T, stream::commit_msg>) {
                auto* c = r.mutable_commit();
                c->set_flags(m.flags);
                c->set_commit_lsn(m.commit_lsn);
                c->set_end_lsn(m.end_lsn);
                c->set_commit_time(m.commit_time);
            } else if constexpr (std::is_same_v<T, stream::relation_msg>) {
                auto* rel = r.mutable_relation();
                put_xid(m.xid, rel);
                rel->set_relid(m.relid);
                rel->set_nspname(m.nspname);
                rel->set_relname(m.relname);
                rel->set_replica_identity(static_cast<uint8_t>(m.replica_identity));
                for (const auto& col : m.columns) {
                    auto* c = rel->add_columns();
                    c->set_is_key(col.is_key);
                    c->set_name(col.name);
                    c->set_type_oid(col.type_oid);
                    c->set_typmod(col.typmod);
                }
            } else if constexpr (std::is_same_v<T, stream::insert_msg>) {
                auto* c = r.mutable_change();
                c->set_k(proto::spool_change::INSERT);
                put_xid(m.xid, c);
                c->set_relid(m.relid);
                put_tuple(m.new_tuple, c->mutable_new_tuple());
            } else if constexpr (std::is_same_v<T, stream::update_msg>) {
                auto* c = r.mutable_change();
                c->set_k(proto::spool_change::UPDATE);
                put_xid(m.xid, c);
                c->set_relid(m.relid);
                c->set_old_kind(static_cast<uint8_t>(m.old_kind));
                if (m.old_kind != '\0') put_tuple(m.old_tuple, c->mutable_old_tuple());
                put_tuple(m.new_tuple, c->mutable_new_tuple());
            } else if constexpr (std::is_same_v<T, stream::delete_msg>) {
                auto* c = r.mutable_change();
                c->set_k(proto::spool_change::DELETE);
                put_xid(m.xid, c);
                c->set_relid(m.relid);
                c->set_old_kind(static_cast<uint8_t>(m.old_kind));
                put_tuple(m.old_tuple, c->mutable_old_tuple());
            } else if constexpr (std::is_same_v<T, stream::truncate_msg>) {
                auto* t = r.mutable_truncate();
                put_xid(m.xid, t);
                t->set_options(m.options);
                for (const auto relid : m.relids) t->add_relids(relid);
            } else if constexpr (std::is_same_v<T, stream::logical_message_msg>) {
                auto* lm = r.mutable_message();
                put_xid(m.xid, lm);
                lm->set_transactional(m.transactional);
                lm->set_lsn(m.lsn);
                lm->set_prefix(m.prefix);
                lm->set_content(m.content);
            } else {
                throw runtime_error("spool: this pgoutput message type is not spooled");
            }
        },
        msg);
}

stream::message from_spool_record(const proto::spool_record& r) {
    switch (r.body_case()) {
        case proto::spool_record::kBegin:
            return stream::begin_msg{r.begin().final_lsn(), r.begin().commit_time(),
                                     r.begin().xid()};
        case proto::spool_record::kCommit:
            return stream::commit_msg{static_cast<uint8_t>(r.commit().flags()),
                                      r.commit().commit_lsn(), r.commit().end_lsn(),
                                      r.commit().commit_time()};
        case proto::spool_record::kRelation: {
            const auto& in = r.relation();
            stream::relation_msg m;
            m.xid = get_xid(in);
            m.relid = in.relid();
            m.nspname = in.nspname();
            m.relname = in.relname();
            m.replica_identity = static_cast<char>(in.replica_identity());
            m.columns.reserve(static_cast<std::size_t>(in.columns_size()));
            for (const auto& c : in.columns()) {
                m.columns.push_back({c.is_key(), c.name(), c.type_oid(), c.typmod()});
            }
            return m;
        }
        case proto::spool_record::kChange: {
            const auto& in = r.change();
            switch (in.k()) {
                case proto::spool_change::INSERT:
                    return stream::insert_msg{get_xid(in), in.relid(), get_tuple(in.new_tuple())};
                case proto::spool_change::UPDATE:
                    return stream::update_msg{get_xid(in), in.relid(),
                                              static_cast<char>(in.old_kind()),
                                              get_tuple(in.old_tuple()), get_tuple(in.new_tuple())};
                case proto::spool_change::DELETE:
                    return stream::delete_msg{get_xid(in), in.relid(),
                                              static_cast<char>(in.old_kind()),
                                              get_tuple(in.old_tuple())};
                default:
                    throw runtime_error("spool: unknown change kind " + std::to_string(in.k()));
            }
        }
        case proto::spool_record::kTruncate: {
            const auto& in = r.truncate();
            return stream::truncate_msg{get_xid(in),
                                        static_cast<uint8_t>(in.options()),
                                        {in.relids().begin(), in.relids().end()}};
        }
        case proto::spool_record::kMessage: {
            const auto& in = r.message();
            return stream::logical_message_msg{get_xid(in), in.transactional(), in.lsn(),
                                               in.prefix(), in.content()};
        }
        case proto::spool_record::BODY_NOT_SET:
            break;
    }
    throw runtime_error("spool: record has no known body (written by a newer partshift?)");
}

std::optional<stream::lsn_t> record_lsn(const proto::spool_record& r) noexcept {
    switch (r.body_case()) {
        case proto::spool_record::kBegin:
            return r.begin().final_lsn();
        case proto::spool_record::kCommit:
            return r.commit().end_lsn();
        case proto::spool_record::kMessage:
            if (!r.message().transactional()) return r.message().lsn();
            return std::nullopt;
        default:
            return std::nullopt;
    }
}

}  // namespace partshift::spool
