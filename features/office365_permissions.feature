@office365 @graph @needs:office365-graph
Feature: Office 365 permission choices map to Microsoft Graph scopes
  The admin's calendar and contacts permission choices decide exactly which Microsoft Graph
  scopes the integration asks for; with read-only choices it never writes. (The documents write
  "Contact.Read"/"Contact.ReadWrite"; the real Graph permissions are Contacts.Read and
  Contacts.ReadWrite, which is what Microsoft accepts.)

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"

  @req:SCOPE-01 @req:SCOPE-02 @req:SCOPE-03 @req:SCOPE-04 @req:SCOPE-05 @req:OAUTH-03 @needs:contacts
  Scenario Outline: Calendar <calendar> and contacts <contacts> ask Microsoft for exactly <scopes>
    Given the admin sets the calendar permission to "<calendar>" and the contacts permission to "<contacts>"
    And the user is the first member of tenant "contoso"
    When the user sets up the calendar integration with the default service and accepts the consent
    Then the integration status is "connected"
    And the identity provider was asked for exactly the resource scopes "<scopes>"

    Examples:
      | calendar | contacts | scopes                                 |
      | Read     | None     | Calendars.Read                         |
      | Read     | Read     | Calendars.Read Contacts.Read           |
      | Read     | Write    | Calendars.Read Contacts.ReadWrite      |
      | Write    | None     | Calendars.ReadWrite                    |
      | Write    | Read     | Calendars.ReadWrite Contacts.Read      |
      | Write    | Write    | Calendars.ReadWrite Contacts.ReadWrite |

  @req:PERM-01 @req:PERM-03 @req:SCOPE-05 @needs:contacts
  Scenario: With read-only permissions the integration shows meetings and contacts and never writes
    Given the admin sets the calendar permission to "Read" and the contacts permission to "Read"
    And the user is the first member of tenant "contoso"
    When the user sets up the calendar integration with the default service and accepts the consent
    Then the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else
    And the contact list shows the user's Office 365 contacts
    When the user tries to schedule a meeting "Read-only check" tomorrow at 11:00 for 30 minutes
    Then the scheduling is refused because the calendar is read-only
    And no write call reached Microsoft Graph
    And the identity provider was asked for no write scope

  @req:SCOPE-02 @needs:bidirectional-sync
  Scenario: With Calendar/Write a meeting scheduled on the platform lands on the Office 365 calendar once
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the user is the first member of tenant "contoso"
    When the user sets up the calendar integration with the default service and accepts the consent
    And the user schedules a meeting "Project kickoff" tomorrow at 11:00 for 30 minutes
    Then the user's Office 365 calendar has exactly one meeting "Project kickoff"
    And the meeting list shows "Project kickoff"

  @req:GRAPH-02 @req:ADMIN-01
  Scenario: A user cannot ask for more than the permissions the admin allows
    Given the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the user is the first member of tenant "contoso"
    When the user tries to set up the calendar integration choosing calendar "Write" and contacts "None"
    Then the set-up is refused with "permission_not_allowed" and a message containing "exceed what the admin allows"
    And the user was never sent to sign in at Microsoft
    And nothing changed

  @req:PERM-02 @req:SCOPE-02 @needs:bidirectional-sync
  Scenario: With Calendar/Write the user moves and deletes meetings of their Office 365 calendar
    Given the admin sets the calendar permission to "Write" and the contacts permission to "None"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    And a meeting "Design review" is added to the user's Office 365 calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user moves the meeting "Design review" to tomorrow at 14:00
    Then the user's Office 365 calendar has the meeting "Design review" tomorrow at 14:00 exactly once
    When the user deletes the meeting "Design review"
    Then the user's Office 365 calendar has no meeting "Design review"
    And the meeting list does not show "Design review"

  @req:PERM-02 @req:PERM-01
  Scenario: With Calendar/Read the user cannot delete a meeting and nothing is written
    Given the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the first member of tenant "contoso" has connected Office 365 with the default settings
    And a meeting "Keep me" is added to the user's Office 365 calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries to delete the meeting "Keep me"
    Then the change is refused because the calendar is read-only
    And the user's Office 365 calendar has exactly one meeting "Keep me"
    And no write call reached Microsoft Graph
