// Facts that resources and the policy pack must agree on. Components do not import this module
// (policies never depend on components, and components do not depend on policies); the lead
// copies the literals into the components and a test checks that both sides still agree.

/**
 * Tag that marks a security group as a tunnel connector's group. Such groups must have no
 * ingress at all: the connector only dials out. The `firefly:` prefix keeps the key out of the
 * way of customers' own tags; AWS reserves only the `aws:` prefix.
 */
export const CONNECTOR_ROLE_TAG_KEY = "firefly:role";

/** The value of CONNECTOR_ROLE_TAG_KEY on a connector's security group. */
export const CONNECTOR_ROLE_TAG_VALUE = "connector";
