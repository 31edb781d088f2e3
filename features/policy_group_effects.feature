@policy @groups
Feature: What group rules do to their members' integrations
  A group's settings apply to its users: their set-up goes to the group's default service and
  asks for the group's permissions, its domain restriction and Enforce OAuth 2.0 decide who may
  integrate and how, its sign-in prompt is what they see, and its locks take access from the
  members whose integration differs. A user outside the group keeps the account's settings. A
  group overrides what the account leaves open; what the account locks, the account decides. In
  every scenario the first member of tenant "contoso" is in the group "Sales" and the second is
  not.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Write" and the contacts permission to "Read"
    And the account has a group "Sales" with the first member of tenant "contoso"

  # -- lock ------------------------------------------------------------------------------------
  @req:LOCK-06 @req:LOCK-02 @req:LOCK-03 @needs:office365-graph
  Scenario: A group's permission lock suspends a member's differing integration and prompts them, and leaves a user outside the group connected
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    And the second member of tenant "contoso" has also connected Office 365 with the default settings
    When the admin sets "calendar_permission" to "read" and locks it for the group "Sales"
    Then the integration of the first member of tenant "contoso" is "reintegration_required"
    And the meeting list is empty
    And the integration of the second member of tenant "contoso" is "connected"
    When the first member of tenant "contoso" signs in with a password using client 5.2.2 on windows
    Then the user is prompted to integrate again

  @req:LOCK-06 @req:LOCK-02 @needs:office365-graph
  Scenario: A member whose integration already matches the group's lock keeps it
    Given the admin sets "calendar_permission" to "read" for the group "Sales"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin locks "calendar_permission" for the group "Sales"
    Then the integration of the first member of tenant "contoso" is "connected"

  @req:LOCK-06 @req:LOCK-01 @needs:office365-graph @needs:google
  Scenario: A group's lock on the default service suspends a member's Office 365 integration, not a user outside the group
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    And the second member of tenant "contoso" has also connected Office 365 with the default settings
    When the admin sets "default_calendar_service" to "Google" and locks it for the group "Sales"
    Then the integration of the first member of tenant "contoso" is "reintegration_required"
    And the integration of the second member of tenant "contoso" is "connected"

  @req:LOCK-01 @req:LOCK-02 @req:ADMIN-02 @needs:office365-graph
  Scenario: An account lock wins over the group's own value: a member's read integration is suspended and the set-up asks for write
    Given the admin sets "calendar_permission" to "read" for the group "Sales"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin sets "calendar_permission" to "write" and locks it at the account level
    Then the effective "calendar_permission" of the first member of tenant "contoso" is "write" from the account level
    And the integration of the first member of tenant "contoso" is "reintegration_required"
    When the first member of tenant "contoso" starts the set-up with the default service from the profile
    Then the set-up asks them to confirm exactly the permissions "Calendars.ReadWrite Contacts.Read"

  @req:ADMIN-05 @req:LOCK-01 @needs:office365-graph
  Scenario: A group's new default service without a lock leaves its members' existing integrations connected
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin sets "default_calendar_service" to "Google" for the group "Sales"
    Then the integration of the first member of tenant "contoso" is "connected"

  @req:ADMIN-05 @req:LOCK-02 @needs:office365-graph
  Scenario: A group's new permission without a lock leaves its members' existing integrations connected
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin sets "calendar_permission" to "read" for the group "Sales"
    Then the integration of the first member of tenant "contoso" is "connected"

  # -- default services and permissions ----------------------------------------------------------
  @req:ADMIN-05 @req:SVC-03 @needs:office365-graph @needs:google
  Scenario: A member's set-up goes to the group's default calendar service, a user outside the group's to the account's
    Given the admin sets "default_calendar_service" to "Google" for the group "Sales"
    When the first member of tenant "contoso" starts the set-up with the default service from the profile
    Then the set-up sends them to sign in at "Google"
    When the second member of tenant "contoso" starts the set-up with the default service from the profile
    Then the set-up sends them to sign in at "Office 365"

  @req:ADMIN-05 @needs:office365-graph
  Scenario: A member's set-up asks for the group's permissions, a user outside the group's for the account's
    Given the admin sets "calendar_permission" to "read" for the group "Sales"
    And the admin sets "contacts_permission" to "none" for the group "Sales"
    When the first member of tenant "contoso" starts the set-up with the default service from the profile
    Then the set-up asks them to confirm exactly the permissions "Calendars.Read"
    When the second member of tenant "contoso" starts the set-up with the default service from the profile
    Then the set-up asks them to confirm exactly the permissions "Calendars.ReadWrite Contacts.Read"

  @req:LOCK-06 @req:LOCK-01 @needs:office365-graph
  Scenario: A member cannot choose another permission than the group locked; a user outside the group can
    Given the admin sets "calendar_permission" to "read" and locks it for the group "Sales"
    And the user is the first member of tenant "contoso"
    When the user tries to set up the calendar integration choosing calendar "Write" and contacts "Read"
    Then the set-up is refused with "locked" and a message containing "locked by the group Sales"
    And the user was never sent to sign in at Microsoft

  # -- Enforce OAuth 2.0, judged at Exchange -------------------------------------------------------
  @req:OAUTH-01 @req:ADMIN-05 @needs:exchange-ews
  Scenario: Enforce OAuth 2.0 set for a group refuses its members' mailbox password before anything reaches Exchange; a user outside the group uses it
    Given the Exchange server of tenant "contoso" runs on-premises, build "15.1.2507.6"
    And the admin sets the default calendar service to "Exchange" through the EWS URL
    And the admin sets "enforce_oauth" to "on" for the group "Sales"
    When the first member of tenant "contoso" tries to connect Exchange with their mailbox password
    Then connecting is refused with "oauth_enforced" and a message containing "authenticate with OAuth 2.0"
    And no Basic credentials reached Exchange
    When the second member of tenant "contoso" connects Exchange with their mailbox password
    Then Exchange saw their mailbox password

  @req:OAUTH-01 @req:ADMIN-05 @needs:exchange-ews
  Scenario: A group that turns Enforce OAuth 2.0 off for itself lets its members use the mailbox password; the account's users stay refused
    Given the Exchange server of tenant "contoso" runs on-premises, build "15.1.2507.6"
    And the admin sets the default calendar service to "Exchange" through the EWS URL
    And the admin turns "enforce_oauth" on
    And the admin sets "enforce_oauth" to "off" for the group "Sales"
    When the second member of tenant "contoso" tries to connect Exchange with their mailbox password
    Then connecting is refused with "oauth_enforced" and a message containing "authenticate with OAuth 2.0"
    And no Basic credentials reached Exchange
    When the first member of tenant "contoso" connects Exchange with their mailbox password
    Then Exchange saw their mailbox password

  @req:OAUTH-01 @req:LOCK-06 @needs:exchange-ews
  Scenario: Enforce OAuth 2.0 locked at the account wins over a group that turned it off: no Basic credentials reach Exchange
    Given the Exchange server of tenant "contoso" runs on-premises, build "15.1.2507.6"
    And the admin sets the default calendar service to "Exchange" through the EWS URL
    And the admin sets "enforce_oauth" to "off" for the group "Sales"
    And the admin sets "enforce_oauth" to "on" and locks it at the account level
    When the first member of tenant "contoso" tries to connect Exchange with their mailbox password
    Then connecting is refused with "oauth_enforced" and a message containing "authenticate with OAuth 2.0"
    And no Basic credentials reached Exchange

  # -- allowed domains -------------------------------------------------------------------------
  @req:DOMAIN-04 @req:ADMIN-05 @needs:office365-graph
  Scenario: A group's domain restriction refuses its members' set-up, not a user outside the group
    Given the admin sets "allowed_domains" to "partner.example.net" for the group "Sales"
    When the first member of tenant "contoso" starts the set-up with the default service from the profile
    Then their set-up is refused with "domain_not_allowed"
    When the second member of tenant "contoso" starts the set-up with the default service from the profile
    Then the set-up sends them to sign in at "Office 365"

  @req:DOMAIN-03 @req:ADMIN-05 @needs:office365-graph
  Scenario: A group's domain restriction suspends its members' existing integrations, not those of users outside the group
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    And the second member of tenant "contoso" has also connected Office 365 with the default settings
    When the admin sets "allowed_domains" to "partner.example.net" for the group "Sales"
    Then the integration of the first member of tenant "contoso" is "reintegration_required"
    And the integration of the second member of tenant "contoso" is "connected"

  @req:DOMAIN-04 @req:ADMIN-05 @needs:office365-graph
  Scenario: A group that allows its own domain overrides the account's restriction for its members only
    Given the admin changes the account settings:
      | setting         | value               |
      | allowed_domains | partner.example.net |
    And the admin sets "allowed_domains" to "<contoso>" for the group "Sales"
    When the first member of tenant "contoso" starts the set-up with the default service from the profile
    Then the set-up sends them to sign in at "Office 365"
    When the second member of tenant "contoso" starts the set-up with the default service from the profile
    Then their set-up is refused with "domain_not_allowed"

  @req:DOMAIN-04 @req:LOCK-06 @needs:office365-graph
  Scenario: Allowed domains locked at the account win over a group's own list
    Given the admin sets "allowed_domains" to "<contoso>" for the group "Sales"
    And the admin sets "allowed_domains" to "partner.example.net" and locks it at the account level
    When the first member of tenant "contoso" starts the set-up with the default service from the profile
    Then their set-up is refused with "domain_not_allowed"

  # -- sign-in prompts -----------------------------------------------------------------------------
  @req:PROMPT-04 @req:ADMIN-05 @needs:office365-graph @needs:sso
  Scenario: A group that asks at every SSO sign-in redirects its members; a user outside the group gets no prompt
    Given the admin changes the account settings:
      | setting        | value |
      | sso_configured | on    |
      | idp_federated  | on    |
    And the admin has integrated their own Office 365 calendar
    And the admin sets "ask_to_integrate_on_sign_in" to "every_sign_in" for the group "Sales"
    When the first member of tenant "contoso" signs in with SSO using client 5.17.11 on windows
    Then the user is redirected to the Office 365 OAuth URL
    When the second member of tenant "contoso" signs in with SSO using client 5.17.11 on windows
    Then the user gets no prompt

  @req:PROMPT-01 @req:LOCK-06 @needs:office365-graph @needs:sso
  Scenario: The sign-in prompt locked off at the account wins over a group that asks
    Given the admin changes the account settings:
      | setting        | value |
      | sso_configured | on    |
      | idp_federated  | on    |
    And the admin has integrated their own Office 365 calendar
    And the admin sets "ask_to_integrate_on_sign_in" to "every_sign_in" for the group "Sales"
    And the admin sets "ask_to_integrate_on_sign_in" to "off" and locks it at the account level
    When the first member of tenant "contoso" signs in with SSO using client 5.17.11 on windows
    Then the user gets no prompt

  @req:LOCK-04 @req:LOCK-06 @needs:office365-graph
  Scenario Outline: After a group's lock, a member is prompted on client <version> only from 5.2.2 on (<prompt>)
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin sets "calendar_permission" to "read" and locks it for the group "Sales"
    Then the integration of the first member of tenant "contoso" is "reintegration_required"
    When the first member of tenant "contoso" signs in with a password using client <version> on windows
    Then the user gets the prompt "<prompt>"

    Examples:
      | version | prompt      |
      | 5.2.1   | none        |
      | 5.2.2   | reintegrate |
      | 5.10.0  | reintegrate |

  # -- MAPI ----------------------------------------------------------------------------------------
  @req:MAPI-02 @req:ADMIN-05 @needs:mapi
  Scenario: Unlocking MAPI for the group withdraws its member's desktop integration
    Given the admin sets "mapi" to "on" and locks it for the group "Sales"
    And the user is the first member of tenant "contoso"
    When the user tries to integrate Exchange through MAPI from the Windows desktop client
    Then the user's calendar is integrated through MAPI on the desktop
    When the admin unlocks "mapi" for the group "Sales"
    Then the integration of the first member of tenant "contoso" is "reintegration_required"
    And the integration status says "MAPI is no longer enabled and locked"

  @req:MAPI-02 @req:LOCK-06 @needs:mapi
  Scenario: MAPI turned off and locked at the account wins over the group's MAPI: the member's desktop integration is withdrawn
    Given the admin sets "mapi" to "on" and locks it for the group "Sales"
    And the user is the first member of tenant "contoso"
    When the user tries to integrate Exchange through MAPI from the Windows desktop client
    And the admin sets "mapi" to "off" and locks it at the account level
    Then the integration of the first member of tenant "contoso" is "reintegration_required"

  @req:MAPI-02 @req:ADMIN-05 @needs:mapi
  Scenario: MAPI enabled and locked for a group is refused to a user outside the group
    Given the admin sets "mapi" to "on" and locks it for the group "Sales"
    And the user is the second member of tenant "contoso"
    When the user tries to integrate Exchange through MAPI from the Windows desktop client
    Then the MAPI integration is refused with a message containing "has not enabled MAPI"
