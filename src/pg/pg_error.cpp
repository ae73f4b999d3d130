// pg_error helpers.
#include "partshift/pg/pg_error.hpp"

namespace partshift::pg {

std::exception_ptr with_context(const std::string& prefix, std::exception_ptr cause) {
    try {
        std::rethrow_exception(cause);
    } catch (const pg_error& e) {
        return std::make_exception_ptr(pg_error(prefix + e.what(), e.sqlstate()));
    } catch (const partshift::error& e) {
        return std::make_exception_ptr(partshift::error(e.code(), prefix + e.what()));
    } catch (const std::exception& e) {
        return std::make_exception_ptr(partshift::runtime_error(prefix + e.what()));
    } catch (...) {
        return cause;
    }
}

}  // namespace partshift::pg
