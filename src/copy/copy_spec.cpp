// copy_spec: table model → copy description. Pure; no SQL, no connection.
#include "partshift/copy/copy_spec.hpp"

#include "partshift/error.hpp"

namespace partshift::copy {

copy_spec make_copy_spec(const catalog::table_model& source,
                         const catalog::qualified_name& target) {
    const catalog::index* key = source.apply_key();
    if (!key || key->key_columns.empty())
        throw usage_error("table " + source.name.schema + "." + source.name.name +
                          " has no primary key or replica identity index on plain columns; "
                          "partshift needs one to copy it in chunks");
    copy_spec spec;
    spec.source = source.name;
    spec.target = target;
    for (const auto& c : source.columns)
        if (!c.generated_expr) spec.columns.push_back(c.name);
    for (const auto& name : key->key_columns) {
        const catalog::column* c = source.find_column(name);
        if (!c) throw usage_error("apply key column " + name + " is not a column of the table");
        spec.key.push_back({c->name, c->type_name});
    }
    spec.row_estimate = source.row_estimate;
    spec.total_bytes = source.total_bytes;
    return spec;
}

}  // namespace partshift::copy
