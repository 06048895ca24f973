// The one translation unit that compiles Asio, Asio SSL and Beast (separate-compilation mode,
// see BOOST_ASIO_SEPARATE_COMPILATION in the root CMakeLists.txt). Every binary that uses
// Asio or Beast links agent_asio instead of compiling them inline in each file.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
