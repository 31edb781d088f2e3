@permissions @readonly
Feature: Read-only permissions, judged at the provider on every route
  With Calendar/Read and Contacts/Read the integration shows meetings and contacts and never
  writes: not a new meeting, not a move, not a change, not a deletion, not a meeting response,
  not a contact. Each attempt is refused as read-only, and the provider's audit log — not the
  integration's word — shows that no write of any kind reached it, whether the integration
  talks to Office 365 through Graph or through the EWS URL, to Exchange through the EWS URL or
  to Google.

  @req:PERM-02 @req:PERM-04 @needs:office365-graph @needs:contacts
  Scenario: Through Graph, every write on a read-only integration is refused and none reaches Microsoft Graph
    Given an account whose first member has connected Office 365 through Graph with calendar "Read" and contacts "Read"
    And a meeting "Keep me" is added to the user's Office 365 calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries every write on the meeting "Keep me" and their contacts
    Then each was refused because the permissions are read-only
    And no write of any kind reached the provider
    And the user's calendar and contacts at the provider are unchanged

  @req:PERM-02 @req:PERM-04 @req:EWS-02 @needs:office365-ews @needs:contacts
  Scenario: Through the Office 365 EWS URL, every write on a read-only integration is refused and none reaches Exchange
    Given an account whose first member has connected Office 365 through the EWS URL with calendar "Read" and contacts "Read"
    And a meeting "Keep me" is added to the user's Office 365 calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries every write on the meeting "Keep me" and their contacts
    Then each was refused because the permissions are read-only
    And no write of any kind reached the provider
    And the user's calendar and contacts at the provider are unchanged

  @req:PERM-02 @req:PERM-04 @req:EXCH-02 @needs:exchange-ews @needs:contacts
  Scenario: Through the on-premises Exchange EWS URL, every write on a read-only integration is refused and none reaches Exchange
    Given an account whose first member has connected Exchange through the EWS URL with calendar "Read" and contacts "Read"
    And a meeting "Keep me" is added to the user's Exchange calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries every write on the meeting "Keep me" and their contacts
    Then each was refused because the permissions are read-only
    And no write of any kind reached the provider
    And the user's calendar and contacts at the provider are unchanged

  @req:PERM-02 @req:PERM-04 @req:GOOGLE-01 @needs:google @needs:contacts
  Scenario: Through Google, every write on a read-only integration is refused and none reaches Google
    Given an account whose first member has connected Google with calendar "Read" and contacts "Read"
    And a meeting "Keep me" is added to the user's Google calendar tomorrow at 10:00
    And the integration runs its periodic sync
    When the user tries every write on the meeting "Keep me" and their contacts
    Then each was refused because the permissions are read-only
    And no write of any kind reached the provider
    And the user's calendar and contacts at the provider are unchanged
