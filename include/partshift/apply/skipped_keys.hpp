// skipped_keys: the source keys whose row the idempotent window could not build and left out
// of the target on purpose (a key change k1 → k2 with unchanged-TOAST columns, when k2 is in
// neither the target nor the source). The source no longer had k2 when it was looked up, so a
// later change in the stream removes it (DELETE, a key change away from it, or TRUNCATE);
// until then the target lacks the row by design, and the changes of such a key are applied by
// the idempotent rules even in strict mode, where a missing row would otherwise be a
// divergence. A key is forgotten once a change removes it or gives it a full row.
// Kept in partshift.skipped_keys and written in the same target transaction as the batch that
// skipped or removed the key, so a resumed run sees the set as of its applied LSN.
// Pure bookkeeping: the applier sends the statements; no connection here.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

namespace partshift::apply {

class skipped_keys {
  public:
    // Statements (params: job, then the key text where named).
    static constexpr const char* load_sql = "SELECT key FROM partshift.skipped_keys WHERE job = $1";
    static constexpr const char* remember_sql =
        "INSERT INTO partshift.skipped_keys (job, key) VALUES ($1, $2) ON CONFLICT DO NOTHING";
    static constexpr const char* forget_sql =
        "DELETE FROM partshift.skipped_keys WHERE job = $1 AND key = $2";
    static constexpr const char* forget_all_sql =
        "DELETE FROM partshift.skipped_keys WHERE job = $1";

    // reset: the set as loaded (load_sql) at the start of a run.
    void reset(std::vector<std::string> keys);
    bool contains(const std::string& key) const { return keys_.count(key) != 0; }
    bool empty() const { return keys_.empty(); }
    size_t size() const { return keys_.size(); }
    // Each returns true when the set changed, i.e. when the caller must write the change.
    bool remember(const std::string& key);
    bool forget(const std::string& key);
    bool forget_all();

  private:
    std::unordered_set<std::string> keys_;
};

}  // namespace partshift::apply
