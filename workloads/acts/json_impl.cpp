// Boost.JSON's implementation, compiled once here: the service and the loader
// use the library header-only, so the static acts binary needs no libboost_json.
#include <boost/json/src.hpp>
