#pragma once

// Reading AWS's XML answers (Query and EC2 protocols) with pugixml, private
// to lib/aws. Elements are matched by local name: namespaces (and any
// prefix) vary between services and between AWS and its emulators.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <pugixml.hpp>

#include "aws/tag.hpp"

namespace aws::detail {

/// The element name without a namespace prefix.
std::string_view local_name(const pugi::xml_node& node);

/// The first child element with this local name (an empty node when none).
pugi::xml_node child(const pugi::xml_node& node, std::string_view name);

/// Follows a path of local names ("reservationSet", "item") from `node`.
pugi::xml_node path(pugi::xml_node node, std::initializer_list<std::string_view> names);

/// The first element with this local name anywhere below `node`, depth first.
pugi::xml_node descendant(const pugi::xml_node& node, std::string_view name);

/// The trimmed text of the child `name` ("" when missing).
std::string text(const pugi::xml_node& node, std::string_view name);

/// The child's integer, or nullopt when missing or not an integer.
std::optional<std::int64_t> integer(const pugi::xml_node& node, std::string_view name);

/// The child's boolean ("true"/"false"), or nullopt.
std::optional<bool> boolean(const pugi::xml_node& node, std::string_view name);

/// Calls `f` for each child element of `node` with this local name.
template <class F>
void for_each(const pugi::xml_node& node, std::string_view name, F&& f) {
  for (pugi::xml_node item = node.first_child(); item; item = item.next_sibling()) {
    if (item.type() == pugi::node_element && local_name(item) == name) f(item);
  }
}

/// Tags in a list element: RDS `<TagList><Tag><Key/><Value/></Tag>…`, EC2
/// `<tagSet><item><key/><value/></item>…`.
Tags tags_of(const pugi::xml_node& list, std::string_view item_name, std::string_view key_name,
             std::string_view value_name);

/// Parses `body`; nullopt-like empty document with `error` set when it is not
/// well-formed XML.
struct Parsed {
  pugi::xml_document document;
  std::string error;  ///< empty when parsed
};
void parse(std::string_view body, Parsed& out);

}  // namespace aws::detail
