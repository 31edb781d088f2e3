@policy @settings @needs:office365-graph
Feature: Account, group and user settings with locks
  Admins configure the calendar and contacts integration at account or group level. A group
  inherits the account unless it overrides a setting; an account lock greys the setting out for
  groups (it must be changed at the account level); a group lock makes it mandatory for the
  group's users; a lock forces the admin's configuration on users, and users whose integration
  differs lose access and are prompted to integrate again on clients 5.2.2 or newer. Refusals
  name the reason and change nothing; every accepted change is in the audit trail.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Write" and the contacts permission to "Read"

  @req:ADMIN-05
  Scenario: A group overrides an account setting for its users only, and the change is audited
    Given the account has a group "Sales" with the first member of tenant "contoso"
    When the admin sets "calendar_permission" to "read" for the group "Sales"
    Then the change is accepted
    And the effective "calendar_permission" of the first member of tenant "contoso" is "read" from the group level
    And the effective "calendar_permission" of the second member of tenant "contoso" is "write" from the account level
    And the audit trail records "calendar_permission" changed from "(inherited)" to "read" at the group level by the admin

  @req:LOCK-05 @req:ADMIN-05
  Scenario: A setting locked at the account is greyed out for a group, which is told to change it at the account level
    Given the account has a group "Sales" with the first member of tenant "contoso"
    And the admin locks "calendar_permission" at the account level
    When the admin tries to set "calendar_permission" to "read" for the group "Sales"
    Then the change is refused with "locked_at_account" and a message containing "must be changed at the account level"
    And the group "Sales" shows "calendar_permission" greyed out by the account
    And the policy is unchanged
    And the audit trail records the lock of "calendar_permission" at the account level

  @req:LOCK-05
  Scenario: A group cannot lock what the account has locked
    Given the account has a group "Sales" with the first member of tenant "contoso"
    And the admin locks "ask_to_integrate_on_sign_in" at the account level
    When the admin tries to lock "ask_to_integrate_on_sign_in" for the group "Sales"
    Then the change is refused with "locked_at_account" and a message containing "must be changed at the account level"
    And the policy is unchanged

  @req:LOCK-06
  Scenario: A group lock makes the setting mandatory for the group's users
    Given the account has a group "Sales" with the first member of tenant "contoso"
    And the admin locks "calendar_integration" for the group "Sales"
    When the first member of tenant "contoso" tries to turn "calendar_integration" off for themselves
    Then the change is refused with "locked_by_group" and a message containing "mandatory for all users in the group"
    And the policy is unchanged
    And the effective "calendar_integration" of the first member of tenant "contoso" is "on" from the account level

  @req:LOCK-06 @req:ADMIN-01
  Scenario: Without a lock a user outside the group decides for themselves
    Given the account has a group "Sales" with the first member of tenant "contoso"
    And the admin locks "calendar_integration" for the group "Sales"
    When the second member of tenant "contoso" turns "calendar_integration" off for themselves
    Then the change is accepted
    And the effective "calendar_integration" of the second member of tenant "contoso" is "off" from the user level

  @req:LOCK-06
  Scenario: A group lock overrides what a member had chosen for themselves before it
    Given the account has a group "Sales" with the first member of tenant "contoso"
    When the first member of tenant "contoso" turns "calendar_integration" off for themselves
    And the admin then locks "calendar_integration" for the group "Sales"
    Then the effective "calendar_integration" of the first member of tenant "contoso" is "on" from the account level

  @req:ADMIN-04
  Scenario: A plain member cannot change another user's settings
    When the second member of tenant "contoso" tries to turn "calendar_integration" off for the first member of tenant "contoso"
    Then the change is refused with "not_allowed" and a message containing "only their own settings"
    And the policy is unchanged
    And the effective "calendar_integration" of the first member of tenant "contoso" is "on" from the account level

  @req:ADMIN-04
  Scenario: A plain member cannot change a group's settings
    Given the account has a group "Sales" with the first member of tenant "contoso"
    When the second member of tenant "contoso" tries to set "calendar_permission" to "read" for the group "Sales"
    Then the change is refused with "not_an_admin" and a message containing "owner or an admin"
    And the policy is unchanged

  @req:ADMIN-04
  Scenario: An account admin who is not the owner may change account settings
    Given a meeting platform account owned by the admin of tenant "contoso" whose first member is an account admin
    When the account admin sets "contacts_permission" to "none" for the account
    Then the change is accepted
    And the audit trail records "contacts_permission" changed from "read" to "none" at the account level by the account admin

  @req:SETUP-01 @req:SETUP-02 @req:SETUP-03 @req:SETUP-07 @req:ADMIN-03 @req:SVC-03 @req:GRAPH-02
  Scenario: The user's set-up offers the admin's default service and the permissions to confirm
    Given the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration with the default service from the profile
    Then the set-up asks the user to confirm exactly the permissions "Calendars.ReadWrite Contacts.Read"
    And the integration status is "connected"
    And the user's integration uses the service "Office 365" with calendar "Write" and contacts "Read"

  @req:SETUP-02 @needs:google
  Scenario: A user whose admin chose Google selects Office 365, clicks Next and is set up with Office 365
    Given the admin sets the default calendar and contact service to "Google"
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration choosing the service "Office 365"
    Then the integration status is "connected"
    And the user's integration uses the service "Office 365" with calendar "Write" and contacts "Read"

  @req:SETUP-01
  Scenario: A connected user configures the integration again from their profile
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the user configures the calendar integration again from the profile choosing calendar "Read" and contacts "None"
    Then the integration status is "connected"
    And the user's integration uses the service "Office 365" with calendar "Read" and contacts "None"

  @req:SVC-01 @req:ADMIN-01
  Scenario: With the integration turned off no user can set it up and nothing changes
    Given the admin changes the account settings:
      | setting              | value |
      | calendar_integration | off   |
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration with the default service from the profile
    Then the set-up is refused with "integration_disabled" and a message containing "turned off"
    And the user was never sent to sign in at Microsoft
    And nothing changed

  @req:ADMIN-01 @req:SVC-03
  Scenario: Without a lock a user may choose less than the admin allows
    Given the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration choosing calendar "Read" and contacts "None"
    Then the integration status is "connected"
    And the identity provider was asked for exactly the resource scopes "Calendars.Read"

  @req:LOCK-01 @req:ADMIN-02
  Scenario: With the permissions locked users must use the admin's configuration
    Given the admin locks "calendar_permission" at the account level
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration choosing calendar "Read" and contacts "None"
    Then the set-up is refused with "locked" and a message containing "locked the calendar permission to write"
    And the user was never sent to sign in at Microsoft
    And nothing changed

  @req:LOCK-01
  Scenario: With the default service locked users cannot choose another service
    Given the admin locks "default_calendar_service" at the account level
    And the user is the second member of tenant "contoso"
    When the user tries to set up the calendar integration choosing the service "Google"
    Then the set-up is refused with "locked" and a message containing "locked the default calendar service to office365"
    And the user was never sent to sign in at Microsoft
    And nothing changed

  @req:LOCK-02 @req:LOCK-03
  Scenario: After a lock, a user whose integration differs loses access and is prompted to integrate again
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin sets "calendar_permission" to "read" and locks it at the account level
    Then the integration status is "reintegration_required"
    And the integration status says "locked the calendar permission to read"
    And the meeting list is empty
    When the user signs in with a password using client 5.2.2 on windows
    Then the user is prompted to integrate again
    When the user sets up the calendar integration again with the default service
    Then the integration status is "connected"
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else
    When the user signs in with a password using client 5.2.2 on windows
    Then the user gets no prompt

  @req:LOCK-02
  Scenario: After a contacts-permission lock, a user whose contacts permission differs loses access
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin sets "contacts_permission" to "none" and locks it at the account level
    Then the integration status is "reintegration_required"
    And the integration status says "locked the contacts permission to none"
    And the meeting list is empty

  @req:LOCK-01 @req:LOCK-03
  Scenario: After the default service is locked, a user integrated with another service is prompted to integrate again
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin sets "default_calendar_service" to "Google" and locks it at the account level
    Then the integration status is "reintegration_required"
    And the meeting list is empty
    When the user signs in with a password using client 5.2.2 on windows
    Then the user is prompted to integrate again

  @req:LOCK-02
  Scenario: After a lock, a user whose integration already matches keeps access
    Given the first member of tenant "contoso" has connected Office 365 choosing calendar "Read" and contacts "Read"
    When the admin sets "calendar_permission" to "read" and locks it at the account level
    Then the integration status is "connected"
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else

  @req:LOCK-04
  Scenario Outline: The re-integration prompt appears only on clients 5.2.2 or newer (client <version>)
    Given the first member of tenant "contoso" has connected Office 365 with the default settings
    When the admin sets "calendar_permission" to "read" and locks it at the account level
    And the user signs in with a password using client <version> on <platform>
    Then the user gets the prompt "<prompt>"
    And the integration status is "reintegration_required"

    Examples:
      | version        | platform | prompt      |
      | 5.2.2          | windows  | reintegrate |
      | 5.10.0         | mac      | reintegrate |
      | 5.17.11 (31580) | linux   | reintegrate |
      | 5.2.1          | windows  | none        |
      | 5.1.9          | mac      | none        |
      | 4.6.20000      | windows  | none        |
